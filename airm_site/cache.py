"""The shared cache when no Redis is configured: Django's database cache, with each write made
in one statement and committed without waiting for the disk on PostgreSQL.

Everything kept in it can be computed again (pages, facet counts, rate-limit windows), so a
kept value need not survive a crash of the database server. Django's own write counts the
whole table (for culling), reads the key, then updates or inserts it in a transaction: five
statements or more and, on PostgreSQL, a flush of the write-ahead log. A cold list page paid
8–10 ms for its three reads and three writes. Here:

- ``set`` is one upsert (``INSERT … ON CONFLICT (cache_key) DO UPDATE``), and ``add`` the same
  upsert that replaces only an expired row, on PostgreSQL and SQLite. Values and expiry times
  are written exactly as Django writes them, so Django's reads and deletes are unchanged.
- Culling (``MAX_ENTRIES``, ``CULL_FREQUENCY``) runs, before the write, on the first write of
  each process and then on every ``max(1, MAX_ENTRIES // 100)``-th: the table may exceed
  ``MAX_ENTRIES`` by that many rows per process writing to it.
- On PostgreSQL, a write made outside a transaction gets one of its own with
  ``SET LOCAL synchronous_commit TO OFF``: it still commits atomically and in order, and the
  setting ends with that transaction. Such a write is four round trips (``BEGIN``, the
  setting, the upsert, ``COMMIT``) and no wait for the disk: about 0.7 ms against 1.6–2.4 ms
  with Django's code and the same setting (1,000 writes, local server, development machine);
  a write that culls a full table costs about three statements more. A write inside a
  caller's transaction is left to that transaction (which may carry data that must be
  durable), in a savepoint as Django does, so that a failed write neither breaks it nor raises.
- SQLite already runs with ``synchronous=NORMAL`` under WAL (see settings); a write there
  outside a transaction is the upsert alone.

``touch``, and every write on another database, go through Django's own code.
"""

from __future__ import annotations

import base64
import itertools
import pickle
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import DatabaseError, connections, router, transaction
from django.utils.timezone import now as tz_now

UPSERT_VENDORS = frozenset({"postgresql", "sqlite"})

# Names are quoted by the connection; keys, values and times are parameters.
_COUNT = "SELECT COUNT(*) FROM {table}"
_UPSERT = (
    "INSERT INTO {table} ({cache_key}, {value}, {expires}) VALUES (%s, %s, %s) "
    "ON CONFLICT ({cache_key}) DO UPDATE "
    "SET {value} = EXCLUDED.{value}, {expires} = EXCLUDED.{expires}"
)
_ONLY_IF_EXPIRED = " WHERE {table}.{expires} < %s"

# How many writes this process has made to each cache table: culling runs on every N-th.
_writes_by_table: defaultdict[str, itertools.count] = defaultdict(itertools.count)


class DatabaseCache(DjangoDatabaseCache):
    def __init__(self, table, params):
        super().__init__(table, params)
        self.cull_every = max(1, self._max_entries // 100)

    def _base_set(self, mode, key, value, timeout=DEFAULT_TIMEOUT):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        if mode == "touch" or connection.vendor not in UPSERT_VENDORS:
            # Django's code makes its own savepoint and swallows its own errors.
            with self._write_transaction(connection, db, savepoint=False):
                return super()._base_set(mode, key, value, timeout)
        expires = self._expires(connection, self.get_backend_timeout(timeout))
        pickled = pickle.dumps(value, self.pickle_protocol)
        # The column holds text, as Django writes it (refs Django #19274).
        encoded = base64.b64encode(pickled).decode("latin1")
        try:
            with (
                self._write_transaction(connection, db, savepoint=True),
                connection.cursor() as cursor,
            ):
                if self._cull_due():
                    self._cull_if_full(db, cursor)
                return self._upsert(cursor, connection, mode, key, encoded, expires)
        except DatabaseError:
            # As in Django: a cache write may fail (a lock, a serialisation failure) without
            # failing the request that made it.
            return False

    @contextmanager
    def _write_transaction(self, connection, db, *, savepoint):
        """Run a write in a PostgreSQL transaction of its own that commits without waiting for
        the disk; inside a caller's transaction, in a savepoint when ``savepoint``; otherwise
        (SQLite) as it is."""
        if connection.in_atomic_block:
            if savepoint:
                with transaction.atomic(using=db):
                    yield
            else:
                yield
        elif connection.vendor == "postgresql":
            with transaction.atomic(using=db):
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                yield
        else:
            yield

    def _expires(self, connection, timeout):
        """The ``expires`` column's value for a backend timeout, as Django's ``_base_set``
        computes it (``None``: never)."""
        if timeout is None:
            expires = datetime.max
        else:
            expires = datetime.fromtimestamp(timeout, tz=UTC if settings.USE_TZ else None)
        return connection.ops.adapt_datetimefield_value(expires.replace(microsecond=0))

    def _cull_due(self):
        return next(_writes_by_table[self._table]) % self.cull_every == 0

    def _cull_if_full(self, db, cursor):
        cursor.execute(_COUNT.format(table=connections[db].ops.quote_name(self._table)))
        count = cursor.fetchone()[0]
        if count > self._max_entries:
            self._cull(db, cursor, tz_now().replace(microsecond=0), count)

    def _upsert(self, cursor, connection, mode, key, encoded, expires):
        """Insert the row or replace it (``add``: only when it has expired); whether it was
        written."""
        quote_name = connection.ops.quote_name
        names = {
            "table": quote_name(self._table),
            **{column: quote_name(column) for column in ("cache_key", "value", "expires")},
        }
        sql, params = _UPSERT, [key, encoded, expires]
        if mode == "add":
            sql += _ONLY_IF_EXPIRED
            now = tz_now().replace(microsecond=0)
            params.append(connection.ops.adapt_datetimefield_value(now))
        cursor.execute(sql.format(**names), params)
        return mode == "set" or cursor.rowcount == 1
