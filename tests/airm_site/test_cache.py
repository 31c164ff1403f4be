"""The database cache (airm_site/cache.py): kept values are committed at once, in a
transaction of their own that does not wait for the disk on PostgreSQL, and a value kept
inside a caller's transaction stays part of it."""

import pytest
from django.core.cache import caches
from django.db import connection, connections, transaction

from airm_site.cache import DatabaseCache

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "airm_site.cache.DatabaseCache", "LOCATION": "airm_cache"}
    }
    kept = caches["default"]
    assert isinstance(kept, DatabaseCache)
    from django.core.management import call_command

    call_command("createcachetable", verbosity=0)
    kept.clear()
    return kept


def read_elsewhere(key):
    """The value as a new connection sees it (only what was committed)."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM airm_cache WHERE cache_key LIKE %s", [f"%:{key}"])
            return cursor.fetchone()[0]
    finally:
        other.close()


def test_a_kept_value_is_committed_and_read_back(cache):
    cache.set("answer", {"n": 42}, 60)
    assert cache.get("answer") == {"n": 42}
    assert read_elsewhere("answer") == 1
    cache.set("answer", {"n": 43}, 60)
    assert cache.get("answer") == {"n": 43}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_the_asynchronous_commit_ends_with_the_cache_write(cache):
    cache.set("answer", 1, 60)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
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


def test_culling_keeps_the_table_bounded(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "airm_site.cache.DatabaseCache",
            "LOCATION": "airm_cache",
            "OPTIONS": {"MAX_ENTRIES": 5, "CULL_FREQUENCY": 2},
        }
    }
    from django.core.management import call_command

    call_command("createcachetable", verbosity=0)
    cache = caches["default"]
    cache.clear()
    for n in range(20):
        cache.set(f"k{n}", n, 60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM airm_cache")
        assert cursor.fetchone()[0] <= 6
    assert cache.get("k19") == 19
