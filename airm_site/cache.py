"""The shared cache when no Redis is configured: Django's database cache, with its writes
committed without waiting for the disk on PostgreSQL.

Everything kept in it can be computed again (pages, facet counts, rate-limit windows), so a
kept value need not survive a crash of the database server; a page that fills the cache after
a write would otherwise wait for a flush of the write-ahead log for each value it keeps
(three per list page, 3–13 ms each measured on this project's machines). Each write is made
in a transaction of its own with ``SET LOCAL synchronous_commit TO OFF``: it still commits
atomically and in order, and the setting ends with that transaction. A write made inside a
caller's transaction is left as it is, since that transaction may carry data that must be
durable. SQLite already runs with ``synchronous=NORMAL`` under WAL (see settings).
"""

from __future__ import annotations

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, router, transaction


class DatabaseCache(DjangoDatabaseCache):
    def _base_set(self, mode, key, value, timeout=DEFAULT_TIMEOUT):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return super()._base_set(mode, key, value, timeout)
        with transaction.atomic(using=db):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            return super()._base_set(mode, key, value, timeout)
