"""The database cache (airm_site/cache.py): kept values are committed at once, in a
transaction of their own that does not wait for the disk on PostgreSQL, and a value kept
inside a caller's transaction stays part of it. A write is one upsert, read back by Django's
own code; culling bounds the table without counting it on every write."""

import pytest
from django.core.cache import caches
from django.core.cache.backends.base import CacheKeyWarning
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from airm_site.cache import DatabaseCache

pytestmark = pytest.mark.django_db(transaction=True)
# What a value reads back as does not depend on whose transaction wrote it: these run in the
# test's own (rolled back) transaction, which is quicker than emptying the database after each.
same_statement_in_any_transaction = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")


@pytest.fixture
def make_cache(settings):
    """The default cache, emptied, with these OPTIONS (MAX_ENTRIES, CULL_FREQUENCY)."""

    def make(**options):
        settings.CACHES = {
            "default": {
                "BACKEND": "airm_site.cache.DatabaseCache",
                "LOCATION": "airm_cache",
                "OPTIONS": options,
            }
        }
        kept = caches["default"]
        assert isinstance(kept, DatabaseCache)
        call_command("createcachetable", verbosity=0)
        kept.clear()
        return kept

    return make


@pytest.fixture
def cache(make_cache):
    return make_cache()


def read_elsewhere(key):
    """The value as a new connection sees it (only what was committed)."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM airm_cache WHERE cache_key LIKE %s", [f"%:{key}"])
            return cursor.fetchone()[0]
    finally:
        other.close()


def rows_in_table():
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM airm_cache")
        return cursor.fetchone()[0]


def synchronous_commit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def statements(captured):
    """The first word of each statement sent: BEGIN, SET, SELECT, INSERT, COMMIT, …"""
    return [query["sql"].split()[0].upper() for query in captured.captured_queries]


def test_a_kept_value_is_committed_and_read_back(cache):
    cache.set("answer", {"n": 42}, 60)
    assert cache.get("answer") == {"n": 42}
    assert read_elsewhere("answer") == 1
    cache.set("answer", {"n": 43}, 60)
    assert cache.get("answer") == {"n": 43}


@on_postgresql
@pytest.mark.parametrize("write", ["set", "add", "touch"])
def test_the_asynchronous_commit_ends_with_the_cache_write(cache, write):
    cache.set("answer", 1, 60)
    for n in range(cache.cull_every):  # one of them counts the table too
        getattr(cache, write)("answer" if write == "touch" else f"answer-{n}", 2)
        assert synchronous_commit() == "on"
    assert not connection.in_atomic_block


def test_a_value_kept_inside_a_transaction_goes_with_it(cache):
    with pytest.raises(RuntimeError), transaction.atomic():
        cache.set("undone", 1, 60)
        raise RuntimeError("rolled back")
    assert cache.get("undone") is None
    assert read_elsewhere("undone") == 0
    with transaction.atomic():
        cache.set("done", 2, 60)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                assert cursor.fetchone()[0] == "on"
    assert read_elsewhere("done") == 1


def test_culling_keeps_the_table_bounded(make_cache):
    cache = make_cache(MAX_ENTRIES=5, CULL_FREQUENCY=2)
    assert cache.cull_every == 1
    for n in range(20):
        cache.set(f"k{n}", n, 60)
    assert rows_in_table() <= 6
    assert cache.get("k19") == 19


def test_a_set_is_one_insert_and_the_table_is_counted_on_one_write_in_n(cache):
    cache.set("warm", 0, 60)
    cull_every = cache.cull_every
    assert cull_every == 3  # MAX_ENTRIES 300 by default
    own_transaction = connection.vendor == "postgresql"
    one_write = ["BEGIN", "SET", "INSERT", "COMMIT"] if own_transaction else ["INSERT"]
    insert = one_write.index("INSERT")
    counting_write = [*one_write[:insert], "SELECT", *one_write[insert:]]

    writes = []
    for n in range(cull_every):
        with CaptureQueriesContext(connection) as captured:
            cache.set(f"page-{n}", {"n": n}, 60)
        writes.append(statements(captured))
    assert sorted(writes) == sorted([counting_write] + [one_write] * (cull_every - 1))
    with CaptureQueriesContext(connection) as captured:
        for n in range(cull_every):
            assert cache.add(f"fresh-{n}", n, 60)
    assert statements(captured).count("INSERT") == cull_every
    assert statements(captured).count("SELECT") == 1


def test_a_set_inside_a_transaction_is_one_insert_in_a_savepoint(cache):
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        for n in range(cache.cull_every):
            cache.set(f"page-{n}", n, 60)
    sent = statements(captured)
    sent.remove("SELECT")  # the one count of the table
    assert sent == ["SAVEPOINT", "INSERT", "RELEASE"] * cache.cull_every
    assert all("synchronous_commit" not in q["sql"] for q in captured.captured_queries)


@same_statement_in_any_transaction
def test_a_set_replaces_the_value_and_its_expiry(cache):
    cache.set("answer", "short-lived", -60)
    cache.set("answer", "kept", 60)
    assert cache.get("answer") == "kept"
    cache.set("answer", "gone", 0)
    assert cache.get("answer") is None
    assert rows_in_table() == 0


@same_statement_in_any_transaction
def test_add_keeps_a_live_value_and_replaces_an_expired_one(cache):
    assert cache.add("live", "first", 60) is True
    assert cache.add("live", "second", 60) is False
    assert cache.get("live") == "first"
    cache.set("stale", "old", -60)
    assert cache.add("stale", "new", 60) is True
    assert cache.get("stale") == "new"
    assert cache.get_or_set("live", "third", 60) == "first"


@same_statement_in_any_transaction
def test_a_value_kept_without_timeout_never_expires(cache):
    cache.set("forever", [1, 2], None)
    assert cache.add("forever", "other", None) is False
    with connection.cursor() as cursor:
        cursor.execute("SELECT expires FROM airm_cache")
        (expires,) = cursor.fetchone()
    assert (expires.year, expires.month, expires.day) == (9999, 12, 31)
    assert cache.get("forever") == [1, 2]
    assert cache.has_key("forever")


@same_statement_in_any_transaction
@pytest.mark.parametrize("timeout", [0, -1])
def test_a_value_given_no_time_to_live_is_not_kept(cache, timeout):
    cache.set("answer", 1, 60)
    cache.set("answer", 2, timeout)
    assert not cache.has_key("answer")
    assert cache.get("answer", "missing") == "missing"
    cache.add("added", 3, timeout)
    assert cache.get("added", "missing") == "missing"


@same_statement_in_any_transaction
def test_djangos_own_backend_reads_and_writes_the_same_rows(cache):
    django_cache = DjangoDatabaseCache("airm_cache", {})
    value = {"html": "<p>é</p>", "n": [1, 2.5, None]}
    cache.set("ours", value, 60)
    cache.set("ours-forever", value, None)
    assert django_cache.get_many(["ours", "ours-forever"]) == {
        "ours": value,
        "ours-forever": value,
    }
    django_cache.set("theirs", value, None)
    assert cache.add("theirs", "other", 60) is False
    assert cache.get("theirs") == value
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cache_key, value, expires FROM airm_cache WHERE cache_key IN (%s, %s)",
            [":1:ours-forever", ":1:theirs"],
        )
        ours, theirs = sorted(cursor.fetchall())
    assert ours[1:] == theirs[1:]
    assert django_cache.delete("ours") is True
    assert cache.get("ours") is None


@same_statement_in_any_transaction
def test_keys_are_made_and_validated_as_django_does(cache):
    cache.set("answer", 1, 60, version=2)
    assert cache.get("answer") is None
    assert cache.get("answer", version=2) == 1
    with pytest.warns(CacheKeyWarning):
        cache.set("a key with spaces", 1, 60)


def test_culling_runs_on_one_write_in_n_and_still_bounds_the_table(make_cache):
    cache = make_cache(MAX_ENTRIES=200, CULL_FREQUENCY=3)
    assert cache.cull_every == 2
    for n in range(500):
        cache.set(f"k{n}", n, 60)
        assert rows_in_table() <= 200 + cache.cull_every
    assert cache.get("k499") == 499


@on_postgresql
def test_a_failed_write_neither_raises_nor_breaks_the_callers_transaction(cache):
    too_long = "k" * 300  # the cache_key column holds 255 characters
    with pytest.warns(CacheKeyWarning):
        assert cache.add(too_long, 1, 60) is False
    assert synchronous_commit() == "on"
    with transaction.atomic():
        with pytest.warns(CacheKeyWarning):
            cache.set(too_long, 1, 60)
        cache.set("after", 2, 60)
    assert read_elsewhere("after") == 1
