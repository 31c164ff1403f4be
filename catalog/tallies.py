"""Tallies: how many mitigations of each source and status sit at each node, kept by the writes.

The public pages' heavy numbers are counts over the whole catalog: the facets of the list
("how many of these sources are in category 3.1"), the coverage matrix (nodes × sources), the
taxonomy pages. Counted afresh they grow with the catalog (a selective filter's facets took
2.3× longer at 300,000 records than at 10,000). :class:`~catalog.models.NodeTally` keeps them
instead: for every (node, source, status) how many mitigations sit at that node or below it,
each counted once (node 0: every mitigation). A page then sums a few dozen of those rows.

How they stay right, whatever writes:

1. **Triggers note what changed.** On PostgreSQL (statement-level, with transition tables) and
   SQLite (row-level), inserting, deleting or re-pointing a classification, inserting or
   deleting a mitigation, changing its source or status, or moving a node (its path) writes
   the mitigations concerned to :class:`~catalog.models.TallyChange`. Nothing is counted there,
   and nothing is locked but the new rows, so a long import blocks no one.
2. **Every write folds them in before it commits.** :func:`catalog.version.bump`, the last step
   of every write (the services' unit of work), calls :func:`fold` after it has taken the
   version row's lock: so folds run one at a time, in commit order. A fold takes out what the
   changed mitigations added before (:class:`~catalog.models.TallyMember` remembers it) and
   adds what they add now, all in set-based statements.
3. **Readers use the tallies only when nothing is waiting.** A write that bypasses the
   services (raw SQL, ``loaddata``, a benchmark's ``COPY``) leaves changes unfolded until the
   next write; :func:`ready` says so (one indexed probe) and the pages count the old way
   meanwhile. :func:`rebuild` recounts everything from scratch.

The SQL is static: table names come from the models, values are parameters.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Sum

from .models import (
    Classification,
    Mitigation,
    NodeTally,
    TallyChange,
    TallyClaim,
    TallyMember,
    TaxonomyNode,
)

EVERYTHING = 0  # the node id of the whole catalog's tallies

# The triggers that note changes (created by migration catalog.0014); tests check they exist,
# since Django drops a SQLite table's triggers when a migration rebuilds the table.
TRIGGERS = (
    "catalog_tally_mitigation_inserted",
    "catalog_tally_mitigation_deleted",
    "catalog_tally_mitigation_updated",
    "catalog_tally_classification_inserted",
    "catalog_tally_classification_deleted",
    "catalog_tally_classification_updated",
    "catalog_tally_node_updated",
)


@dataclass(frozen=True)
class Scope:
    """Which mitigations to count, in terms the tallies know: the statuses, the sources (None:
    all), and the node they sit at or below (:data:`EVERYTHING`: no node)."""

    statuses: tuple[str, ...]
    source_ids: frozenset[int] | None = None
    node_id: int = EVERYTHING

    @property
    def is_empty(self) -> bool:
        return not self.statuses or self.source_ids == frozenset()


def _tables(using: str) -> dict[str, str]:
    quote = connections[using].ops.quote_name
    return {
        "tally": quote(NodeTally._meta.db_table),
        "member": quote(TallyMember._meta.db_table),
        "change": quote(TallyChange._meta.db_table),
        "claim": quote(TallyClaim._meta.db_table),
        "mitigation": quote(Mitigation._meta.db_table),
        "classification": quote(Classification._meta.db_table),
        "node": quote(TaxonomyNode._meta.db_table),
    }


# What each mitigation adds: the whole catalog (node 0), and every node at or above each node
# it is classified at (ancestors by materialised path, within its taxonomy), each once. The
# claimed records' classifications and the node pairs are materialised first: left to itself,
# PostgreSQL misjudges the path join as one row and walks every classification of every node
# (120 ms for one record at 100,000) instead of the few claimed ones.
_MEMBERS = """
    WITH placed AS MATERIALIZED (
        SELECT c.mitigation_id, c.node_id FROM {classification} c WHERE {where_c}
    ), up AS MATERIALIZED (
        SELECT n.id AS node_id, a.id AS ancestor_id
        FROM {node} n JOIN {node} a
          ON a.taxonomy_id = n.taxonomy_id AND substr(n.path, 1, length(a.path)) = a.path
    )
    INSERT INTO {member} (mitigation_id, node_id, source_id, status)
    SELECT m.id, 0, m.source_id, m.status FROM {mitigation} m WHERE {where_m}
    UNION ALL
    SELECT DISTINCT m.id, up.ancestor_id, m.source_id, m.status
    FROM placed p
    JOIN up ON up.node_id = p.node_id
    JOIN {mitigation} m ON m.id = p.mitigation_id
"""
_CLAIMED = "IN (SELECT mitigation_id FROM {claim})"
_ADD = """
    INSERT INTO {tally} (node_id, source_id, status, total)
    SELECT node_id, source_id, status, {sign} COUNT(*) FROM {member}
    WHERE mitigation_id {claimed}
    GROUP BY node_id, source_id, status
    ON CONFLICT (node_id, source_id, status)
    DO UPDATE SET total = {tally}.total + excluded.total
"""
_TEMPLATES = {
    # PostgreSQL: claim exactly the rows deleted, even if another transaction commits new
    # ones meanwhile (a write outside the services).
    "claim_postgresql": "WITH taken AS (DELETE FROM {change} RETURNING mitigation_id) "
    "INSERT INTO {claim} (mitigation_id) SELECT DISTINCT mitigation_id FROM taken",
    # SQLite: one writer at a time, so reading then emptying the table is exact.
    "claim_sqlite": "INSERT INTO {claim} (mitigation_id) "
    "SELECT DISTINCT mitigation_id FROM {change} WHERE true",
    "forget_changes": "DELETE FROM {change}",
    "subtract": _ADD.replace("{sign}", "-"),
    "forget_members": "DELETE FROM {member} WHERE mitigation_id {claimed}",
    "add_members": _MEMBERS.replace("{where_m}", "m.id {claimed}").replace(
        "{where_c}", "c.mitigation_id {claimed}"
    ),
    "add": _ADD.replace("{sign}", ""),
    "release": "DELETE FROM {claim}",
    "drop_zeros": "DELETE FROM {tally} WHERE total = 0",
    # rebuild
    "empty_members": "DELETE FROM {member}",
    "empty_tallies": "DELETE FROM {tally}",
    "all_members": _MEMBERS.replace("{where_m}", "true").replace("{where_c}", "true"),
    "all_tallies": "INSERT INTO {tally} (node_id, source_id, status, total) "
    "SELECT node_id, source_id, status, COUNT(*) FROM {member} WHERE true "
    "GROUP BY node_id, source_id, status",
}


def _sql(using: str) -> dict[str, str]:
    """The statements, with the tables' quoted names (from the models: nothing from input)."""
    names = _tables(using)
    claimed = _CLAIMED.format(**names)
    return {key: text.format(claimed=claimed, **names) for key, text in _TEMPLATES.items()}


def fold(using: str = DEFAULT_DB_ALIAS) -> int:
    """Bring the tallies up to date with every change noted so far (the caller's own and any
    left by writes that bypassed the services). Returns how many mitigations were refolded.

    Called by :func:`catalog.version.bump` inside the write's transaction, after the version
    row is locked: folds never run side by side, so no two take the same change or update
    the same tally rows in a different order.
    """
    connection = connections[using]
    sql = _sql(using)
    with connection.cursor() as cursor:
        cursor.execute(sql[f"claim_{connection.vendor}"])
        claimed = cursor.rowcount
        if not claimed:
            return 0
        if connection.vendor != "postgresql":
            cursor.execute(sql["forget_changes"])
        for step in ("subtract", "forget_members", "add_members", "add", "release", "drop_zeros"):
            cursor.execute(sql[step])
    return claimed


def rebuild(using: str = DEFAULT_DB_ALIAS) -> None:
    """Recount every tally from the catalog as it is (after a restore, or to check a doubt).
    Run it inside the transaction of whatever else it goes with; it is a whole-catalog count."""
    sql = _sql(using)
    with connections[using].cursor() as cursor:
        for step in (
            "forget_changes",
            "release",
            "empty_members",
            "empty_tallies",
            "all_members",
            "all_tallies",
        ):
            cursor.execute(sql[step])


def ready(using: str = DEFAULT_DB_ALIAS) -> bool:
    """True when no change waits to be folded: the tallies are the catalog's counts."""
    return not TallyChange.objects.using(using).exists()


def _rows(scope: Scope, node_ids: Iterable[int] | None, using: str):
    rows = NodeTally.objects.using(using).filter(status__in=scope.statuses)
    if scope.source_ids is not None:
        rows = rows.filter(source_id__in=scope.source_ids)
    if node_ids is not None:
        rows = rows.filter(node_id__in=list(node_ids))
    return rows.order_by()


def node_counts(
    scope: Scope, node_ids: Collection[int] | None = None, *, using: str = DEFAULT_DB_ALIAS
) -> dict[int, int]:
    """Node id → mitigations in ``scope`` at or below it (``node_ids``, or every node). Only
    for a scope without a node: counting one node's mitigations at another needs the rows."""
    assert scope.node_id == EVERYTHING, "tallies count one node at a time"
    if scope.is_empty:
        return {}
    rows = _rows(scope, node_ids, using)
    if node_ids is None:
        rows = rows.exclude(node_id=EVERYTHING)
    return {node_id: total for node_id, total in rows.values_list("node_id").annotate(Sum("total"))}


def source_status_counts(
    scope: Scope, *, using: str = DEFAULT_DB_ALIAS
) -> dict[tuple[int, str], int]:
    """(source id, status) → mitigations in ``scope``."""
    if scope.is_empty:
        return {}
    rows = _rows(scope, [scope.node_id], using).values_list("source_id", "status")
    return {(source_id, status): total for source_id, status, total in rows.annotate(Sum("total"))}


def source_counts(scope: Scope, *, using: str = DEFAULT_DB_ALIAS) -> dict[int, int]:
    """Source id → mitigations in ``scope``."""
    if scope.is_empty:
        return {}
    rows = _rows(scope, [scope.node_id], using).values_list("source_id")
    return {source_id: total for source_id, total in rows.annotate(Sum("total"))}


def node_source_counts(
    scope: Scope, node_ids: Collection[int], *, using: str = DEFAULT_DB_ALIAS
) -> dict[tuple[int, int], int]:
    """(node id, source id) → mitigations in ``scope`` at or below the node (coverage cells)."""
    assert scope.node_id == EVERYTHING, "tallies count one node at a time"
    if scope.is_empty:
        return {}
    rows = _rows(scope, node_ids, using).values_list("node_id", "source_id")
    return {
        (node_id, source_id): total for node_id, source_id, total in rows.annotate(Sum("total"))
    }
