"""Keeping the database ready: fresh planner statistics after large writes.

Both databases choose their query plans from statistics about each table (PostgreSQL's
``pg_statistic``, SQLite's ``sqlite_stat1``). A bulk import, a revert or a release build
changes thousands of rows at once; until the statistics are refreshed the planner may keep
choosing plans made for the old, smaller tables (a freshly imported PostgreSQL catalog of
100,000 records answered its coverage page 5× slower before ``ANALYZE``, and where autovacuum
is off nothing refreshes them). So those writes call :func:`analyze_after_commit` with the
models they changed, and anything else that writes in bulk (a release build) may call
:func:`analyze` itself. ``ANALYZE`` never changes data; it runs after the commit so it neither
lengthens the write's transaction nor analyses rows that might still be rolled back.

On PostgreSQL, outside a transaction, it is ``VACUUM (ANALYZE)``: besides the statistics, the
vacuum marks the freshly written pages all-visible, so counts that need only an index (the
facets' "how many of these sources are in this category", "how many per source and status")
read the index alone instead of visiting every row: 163 → 48 and 106 → 43 ms at 300,000
records, for 1.8 s of vacuum after filling both tables, and little after a small import (pages
already all-visible are skipped). Autovacuum would do the same, later, where it is on. Inside
a transaction (VACUUM cannot run there) it is a plain ``ANALYZE``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from .models import Classification, Mitigation, SourceDocument, Taxonomy, TaxonomyNode

# SQLite: rows examined per index (PRAGMA analysis_limit, SQLite 3.32+). An approximate
# ANALYZE of a 100,000-row table takes milliseconds instead of a full scan of every index.
SQLITE_ANALYSIS_LIMIT = 2000


def curated_models() -> list[type[models.Model]]:
    """The curated tables and their history tables (the catalog's large tables)."""

    found: list[type[models.Model]] = []
    for model in (Mitigation, Classification, SourceDocument, TaxonomyNode, Taxonomy):
        found.append(model)
        history = getattr(model, "history", None)
        if history is not None:
            found.append(history.model)
    return found


def tally_models() -> list[type[models.Model]]:
    """The tables of :mod:`catalog.tallies`, rewritten by every bulk write to the catalog."""
    from .models import NodeTally, TallyChange, TallyClaim, TallyMember

    return [NodeTally, TallyMember, TallyChange, TallyClaim]


def analyze(
    tables: Iterable[type[models.Model] | str] | None = None, *, using: str = DEFAULT_DB_ALIAS
) -> list[str]:
    """Refresh the planner's statistics of ``tables`` (models or table names; default: every
    curated table and its history) on PostgreSQL or SQLite, vacuuming them too on PostgreSQL
    outside a transaction. Returns the tables analysed."""
    connection = connections[using]
    names = []
    for table in curated_models() if tables is None else tables:
        name = table if isinstance(table, str) else table._meta.db_table
        if name not in names:
            names.append(name)
    known = set(connection.introspection.table_names())
    names = [name for name in names if name in known]
    # Bulk writes to records or classifications also rewrite the tallies' tables (many dead
    # rows in the change log on PostgreSQL, whose "anything waiting?" probe would scan them).
    if {Mitigation._meta.db_table, Classification._meta.db_table} & set(names):
        names += [
            model._meta.db_table for model in tally_models() if model._meta.db_table not in names
        ]
    command = "ANALYZE"
    if (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and connection.get_autocommit()
    ):
        command = "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit = {int(SQLITE_ANALYSIS_LIMIT)}")
        for name in names:
            cursor.execute(f"{command} {connection.ops.quote_name(name)}")
    return names


def analyze_after_commit(
    tables: Iterable[type[models.Model] | str], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """:func:`analyze` ``tables`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(analyze, list(tables), using=using), using=using)
