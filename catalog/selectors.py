"""Every read the catalog's pages need, as tuned querysets or small plain structures."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)

from . import tallies
from .history import describe_refs
from .models import (
    Classification,
    Mitigation,
    MitigationStatus,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
)
from .timeline import mitigation_timeline


@dataclass
class NodeCount:
    node: TaxonomyNode
    count: int


@dataclass
class TaxonomySummary:
    taxonomy: Taxonomy
    top_level: list[NodeCount]
    classified: int


def taxonomy_list_public():
    """Taxonomies a visitor may browse: all but retired ones, in display order."""
    return Taxonomy.objects.exclude(status=Taxonomy.Status.RETIRED)


def taxonomy_list_top_level_counts() -> list[TaxonomySummary]:
    """Each taxonomy's top-level nodes with the number of active mitigations in their subtree.

    Three queries whatever the size of the catalog: taxonomies, top-level nodes, and one
    aggregate of conditional distinct counts (a mitigation counted once per subtree even
    where a multi-valued taxonomy places it at several nodes of it).
    """
    taxonomies = list(taxonomy_list_public())
    tops = list(
        TaxonomyNode.objects.filter(taxonomy__in=taxonomies, parent__isnull=True).order_by(
            "taxonomy__order", "order", "code"
        )
    )
    active = Classification.objects.filter(_classifications_of(with_status()))
    aggregates = {
        f"node_{node.pk}": Count(
            "mitigation",
            distinct=True,
            filter=Q(taxonomy_id=node.taxonomy_id, node__path__startswith=node.path),
        )
        for node in tops
    }
    aggregates.update(
        {
            f"taxonomy_{taxonomy.pk}": Count(
                "mitigation", distinct=True, filter=Q(taxonomy_id=taxonomy.pk)
            )
            for taxonomy in taxonomies
        }
    )
    counts = active.aggregate(**aggregates) if aggregates else {}
    by_id = {taxonomy.pk: taxonomy for taxonomy in taxonomies}
    for node in tops:
        node.taxonomy = by_id[node.taxonomy_id]  # links to the node's list need its taxonomy
    return [
        TaxonomySummary(
            taxonomy=taxonomy,
            top_level=[
                NodeCount(node=node, count=counts[f"node_{node.pk}"])
                for node in tops
                if node.taxonomy_id == taxonomy.pk
            ],
            classified=counts[f"taxonomy_{taxonomy.pk}"],
        )
        for taxonomy in taxonomies
    ]


def mitigation_count_active() -> int:
    """How many records are active (from the tallies when they are up to date)."""
    if tallies.ready():
        return sum(tallies.source_counts(tallies.Scope((MitigationStatus.ACTIVE,))).values())
    return Mitigation.objects.active().count()


def mitigation_counts_active_by_source() -> dict[int, int]:
    """Source id → active records (from the tallies when they are up to date)."""
    if tallies.ready():
        return tallies.source_counts(tallies.Scope((MitigationStatus.ACTIVE,)))
    return mitigation_value_counts(Mitigation.objects.active(), "source_id")


def mitigation_list_recently_changed(limit: int = 6) -> list[Mitigation]:
    """The records changed last (any status: a retirement is news too), with their source.

    One query.
    """
    return list(
        Mitigation.objects.select_related("source").order_by("-updated_at", "-number")[:limit]
    )


def mitigation_counts_by_year(mitigations: QuerySet[Mitigation] | None = None) -> list[tuple]:
    """``[(year, count), …]``: active mitigations per year of their source, oldest first
    (sources without a year left out). One query."""
    mitigations = Mitigation.objects.active() if mitigations is None else mitigations
    rows = (
        mitigations.filter(source__year__isnull=False)
        .order_by()
        .values_list("source__year")
        .annotate(n=Count("pk"))
    )
    return sorted(rows)


def chart_taxonomy() -> Taxonomy | None:
    """The taxonomy whose categories the small charts count: the first public taxonomy of
    kind "taxonomy" (the MIT preliminary one in the reference data)."""
    return taxonomy_list_public().filter(kind=Taxonomy.Kind.TAXONOMY).first()


def top_level_counts(mitigations: QuerySet[Mitigation]) -> list[NodeCount]:
    """How many of ``mitigations`` sit in each top-level category of :func:`chart_taxonomy`
    (each counted once per category). Three queries; empty without such a taxonomy."""
    taxonomy = chart_taxonomy()
    if taxonomy is None:
        return []
    (taxonomy,) = taxonomy_list_with_nodes([taxonomy])
    counts = node_subtree_counts(taxonomy, taxonomy.node_list, mitigations)
    return [
        NodeCount(node=node, count=counts.get(node.pk, 0))
        for node in taxonomy.node_list
        if node.parent_id is None
    ]


def mitigation_get_for_page(number: int) -> Mitigation | None:
    """One mitigation (any status) with its source, merge target and classifications."""
    return (
        Mitigation.objects.select_related("source", "merged_into")
        .prefetch_related(
            Prefetch(
                "classifications",
                queryset=Classification.objects.select_related("taxonomy", "node").order_by(
                    "taxonomy__order", "node__path"
                ),
            )
        )
        .filter(number=number)
        .first()
    )


def tree_order(nodes) -> list[TaxonomyNode]:
    """``nodes`` of one taxonomy depth-first, siblings by (order, code).

    Each node gets ``child_nodes``, its children in that order.
    """
    nodes = list(nodes)
    known = {node.pk for node in nodes}
    children: dict[int | None, list[TaxonomyNode]] = {}
    for node in nodes:
        parent = node.parent_id if node.parent_id in known else None
        children.setdefault(parent, []).append(node)
    for siblings in children.values():
        siblings.sort(key=lambda node: (node.order, node.code))
    ordered: list[TaxonomyNode] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        node = stack.pop()
        node.child_nodes = children.get(node.pk, [])
        ordered.append(node)
        stack.extend(reversed(node.child_nodes))
    return ordered


def taxonomy_list_with_nodes(taxonomies=None) -> list[Taxonomy]:
    """Taxonomies (default: the public ones), each with ``node_list`` in tree order.

    Two queries. Every node has its ``taxonomy`` set, so links can be built without more.
    """
    taxonomies = list(taxonomy_list_public() if taxonomies is None else taxonomies)
    by_id = {taxonomy.pk: taxonomy for taxonomy in taxonomies}
    grouped: dict[int, list[TaxonomyNode]] = {pk: [] for pk in by_id}
    for node in TaxonomyNode.objects.filter(taxonomy__in=taxonomies).order_by():
        node.taxonomy = by_id[node.taxonomy_id]
        grouped[node.taxonomy_id].append(node)
    for taxonomy in taxonomies:
        taxonomy.node_list = tree_order(grouped[taxonomy.pk])
    return taxonomies


def taxonomy_node_list_public():
    """The nodes of every taxonomy a visitor may browse (see :func:`taxonomy_list_public`)."""
    return TaxonomyNode.objects.filter(taxonomy__in=taxonomy_list_public())


def taxonomy_get_for_page(slug: str) -> Taxonomy | None:
    """One taxonomy by slug, retired ones included (their pages keep resolving)."""
    return Taxonomy.objects.filter(slug=slug).first()


def _rollup(nodes: list[TaxonomyNode], direct: dict[int, int]) -> dict[int, int]:
    """Subtree totals from per-node counts (exact when a mitigation sits at one node at most)."""
    by_path = {node.path: node.pk for node in nodes}
    totals = dict.fromkeys(by_path.values(), 0)
    for node in nodes:
        count = direct.get(node.pk, 0)
        if not count:
            continue
        parts = node.path.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            ancestor = by_path.get("/" + "/".join(parts[:depth]) + "/")
            if ancestor is not None:
                totals[ancestor] += count
    return totals


@dataclass(frozen=True)
class WithStatus:
    """The mitigations of some statuses and nothing else (see :func:`_classifications_of`)."""

    statuses: tuple[str, ...]


def with_status(statuses: Collection[str] = (MitigationStatus.ACTIVE,)) -> WithStatus:
    """Every mitigation whose status is one of ``statuses``, for the counts below."""
    return WithStatus(tuple(statuses))


def _classifications_of(mitigations: QuerySet[Mitigation] | WithStatus) -> Q:
    """The classifications of ``mitigations``.

    For records selected by status alone (:func:`with_status`, the unfiltered list, coverage,
    the taxonomy pages) the test runs against the few records of the *other* statuses instead
    of the many of these: an anti-join on PostgreSQL (87 against 113–135 ms at 100,000 records
    here), a small ``NOT IN`` list on SQLite (53–90 against 196 ms).
    """
    if not isinstance(mitigations, WithStatus):
        return Q(mitigation__in=mitigations.order_by().values("pk"))
    others = Mitigation.objects.exclude(status__in=mitigations.statuses).order_by()
    if connection.vendor == "postgresql":
        return ~Q(Exists(others.filter(pk=OuterRef("mitigation_id"))))
    return ~Q(mitigation__in=others.values("pk"))


def node_subtree_counts(
    taxonomy: Taxonomy,
    nodes: list[TaxonomyNode],
    mitigations: QuerySet[Mitigation] | WithStatus,
) -> dict[int, int]:
    """For each node: how many of ``mitigations`` sit at it or below it, each counted once.

    Records selected by status alone are counted from the tallies (:mod:`catalog.tallies`:
    a probe that they are up to date and a sum over a few rows, whatever the catalog's size).
    Otherwise one query: a single-valued taxonomy is counted per node and summed up the tree;
    a multi-valued one, where a mitigation may sit at two nodes of one subtree, with a
    distinct count per node.
    """
    taxonomy.node_list = nodes
    tallied = _tallied_subtree_counts([taxonomy], mitigations)
    if tallied is not None:
        return tallied[taxonomy.pk]
    if not taxonomy.multi_valued:
        return _single_valued_subtree_counts([taxonomy], mitigations)[taxonomy.pk]
    rows = Classification.objects.filter(
        _classifications_of(mitigations), taxonomy=taxonomy
    ).order_by()
    if not nodes:
        return {}
    counts = rows.aggregate(
        **{
            f"node_{node.pk}": Count(
                "mitigation", distinct=True, filter=Q(node__path__startswith=node.path)
            )
            for node in nodes
        }
    )
    return {node.pk: counts[f"node_{node.pk}"] for node in nodes}


def node_subtree_counts_by_taxonomy(
    taxonomies: list[Taxonomy], mitigations: QuerySet[Mitigation] | WithStatus
) -> dict[int, dict[int, int]]:
    """:func:`node_subtree_counts` for several single-valued taxonomies (each with its
    ``node_list``) in one query (or from the tallies): taxonomy id → node id → count.
    """
    tallied = _tallied_subtree_counts(taxonomies, mitigations)
    if tallied is not None:
        return tallied
    return _single_valued_subtree_counts(taxonomies, mitigations)


def _tallied_subtree_counts(
    taxonomies: list[Taxonomy], mitigations: QuerySet[Mitigation] | WithStatus
) -> dict[int, dict[int, int]] | None:
    """The subtree counts from the tallies, for records selected by status alone while the
    tallies are up to date; else None (the rows must be counted)."""
    if not isinstance(mitigations, WithStatus) or not tallies.ready():
        return None
    ids = [node.pk for taxonomy in taxonomies for node in taxonomy.node_list]
    counts = tallies.node_counts(tallies.Scope(mitigations.statuses), ids)
    return {
        taxonomy.pk: {node.pk: counts.get(node.pk, 0) for node in taxonomy.node_list}
        for taxonomy in taxonomies
    }


def _single_valued_subtree_counts(
    taxonomies: list[Taxonomy], mitigations: QuerySet[Mitigation] | WithStatus
) -> dict[int, dict[int, int]]:
    assert not any(taxonomy.multi_valued for taxonomy in taxonomies)
    direct: dict[int, dict[int, int]] = {taxonomy.pk: {} for taxonomy in taxonomies}
    rows = (
        Classification.objects.filter(_classifications_of(mitigations), taxonomy__in=taxonomies)
        .order_by()
        .values_list("taxonomy_id", "node_id")
        .annotate(n=Count("id"))
    )
    for taxonomy_id, node_id, count in rows:
        direct[taxonomy_id][node_id] = count
    return {
        taxonomy.pk: _rollup(taxonomy.node_list, direct[taxonomy.pk]) for taxonomy in taxonomies
    }


def taxonomy_tree_with_counts(taxonomy: Taxonomy) -> list[TaxonomyNode]:
    """The nodes of ``taxonomy`` in tree order, each with ``count``: active mitigations below.

    Two queries: the nodes, and one aggregate.
    """
    (taxonomy,) = taxonomy_list_with_nodes([taxonomy])
    counts = node_subtree_counts(taxonomy, taxonomy.node_list, with_status())
    for node in taxonomy.node_list:
        node.count = counts.get(node.pk, 0)
    return taxonomy.node_list


# --------------------------------------------------------------------------- sources


def source_list():
    return SourceDocument.objects.order_by("short_ref")


def source_list_with_counts():
    """Every source document with ``active_count``, its active mitigations (one query)."""
    return source_list().annotate(
        active_count=Count("mitigations", filter=Q(mitigations__status=MitigationStatus.ACTIVE))
    )


def source_get_for_page(short_ref: str) -> SourceDocument | None:
    return SourceDocument.objects.filter(short_ref=short_ref).first()


@dataclass
class Section:
    path: str
    count: int
    first_index: int

    @property
    def parts(self) -> list[str]:
        return [part.strip() for part in self.path.split(">") if part.strip()]

    @property
    def anchor(self) -> str:
        return f"section-{self.first_index + 1}"


def source_sections(source: SourceDocument) -> list[Section]:
    """The sections of ``source`` holding active mitigations, in order, with counts (a query)."""
    rows = (
        Mitigation.objects.active()
        .filter(source=source)
        .order_by("section_path")
        .values_list("section_path")
        .annotate(n=Count("id"))
    )
    sections, seen = [], 0
    for path, count in rows:
        sections.append(Section(path=path, count=count, first_index=seen))
        seen += count
    return sections


def source_mitigations(source: SourceDocument) -> QuerySet[Mitigation]:
    """The active mitigations of ``source`` in section order (ordering as in source_sections)."""
    return (
        Mitigation.objects.active()
        .filter(source=source)
        .order_by("section_path", "number")
        .only("number", "name", "section_path", "status")
    )


@dataclass
class SectionGroup:
    section: Section
    mitigations: list[Mitigation]
    continued: bool  # the section began on an earlier page


@dataclass
class SourcePage:
    sections: list[Section]
    page: Page
    groups: list[SectionGroup]


SOURCE_PAGE_SIZE = 200


def source_page(source: SourceDocument, page_number, per_page: int = SOURCE_PAGE_SIZE):
    """A page of ``source``'s active mitigations grouped by section, and every section with
    the page it starts on (three queries: sections, count, rows).
    """
    sections = source_sections(source)
    for section in sections:
        section.page_number = section.first_index // per_page + 1
    page = Paginator(source_mitigations(source), per_page).get_page(page_number)
    by_path = {section.path: section for section in sections}
    groups: list[SectionGroup] = []
    offset = page.start_index() - 1
    for index, mitigation in enumerate(page.object_list, start=offset):
        if not groups or groups[-1].section.path != mitigation.section_path:
            section = by_path.get(mitigation.section_path) or Section(
                mitigation.section_path, 0, index
            )
            groups.append(SectionGroup(section, [], continued=index > section.first_index))
        groups[-1].mitigations.append(mitigation)
    return SourcePage(sections=sections, page=page, groups=groups)


# --------------------------------------------------------------------------- the list


def mitigation_list_base() -> QuerySet[Mitigation]:
    """What the public list filters: every mitigation (the status filter narrows it)."""
    return Mitigation.objects.all()


def mitigation_list_rows(queryset: QuerySet[Mitigation]) -> QuerySet[Mitigation]:
    """``queryset`` with what a row of the list shows: its source and its classifications."""
    return queryset.select_related("source").prefetch_related(
        Prefetch(
            "classifications",
            queryset=Classification.objects.select_related("taxonomy", "node").order_by(
                "taxonomy__order", "node__path"
            ),
        )
    )


def mitigation_counts_by_source(mitigations: QuerySet[Mitigation]) -> dict[int, int]:
    """Source id → how many of ``mitigations`` come from it (one query)."""
    return mitigation_value_counts(mitigations, "source_id")


def mitigation_counts_by_source_and_status(
    mitigations: QuerySet[Mitigation],
) -> dict[tuple[int, str], int]:
    """(source id, status) → how many of ``mitigations`` (one query)."""
    rows = mitigations.order_by().values_list("source_id", "status").annotate(n=Count("pk"))
    return {(source_id, status): count for source_id, status, count in rows}


def mitigation_value_counts(mitigations: QuerySet[Mitigation], field: str) -> dict:
    """How many of ``mitigations`` have each value of ``field`` (one aggregate query)."""
    return dict(mitigations.order_by().values_list(field).annotate(n=Count("pk")))


# --------------------------------------------------------------------------- one mitigation


@dataclass
class AlsoIn:
    node: TaxonomyNode
    mitigations: list[Mitigation]  # a few others, by public ID
    total: int | None  # all the others (None when there are more than those shown)
    list_total: int | None  # what the node's list shows: the others, and this one if active

    @property
    def more(self) -> bool:
        """The node holds more others than those shown (its list counts them)."""
        return self.total is None


def node_relatives(
    nodes: list[TaxonomyNode],
) -> tuple[dict[tuple[int, str], TaxonomyNode], dict[int, list[int]]]:
    """In one query: the ancestors of ``nodes`` keyed by (taxonomy id, code), and for each
    node the ids of its subtree (itself and every descendant).
    """
    wanted = Q()
    for node in nodes:
        wanted |= Q(taxonomy_id=node.taxonomy_id, path__startswith=node.path)
        if node.ancestor_codes:
            wanted |= Q(taxonomy_id=node.taxonomy_id, code__in=node.ancestor_codes)
    if not nodes:
        return {}, {}
    found = list(TaxonomyNode.objects.filter(wanted).order_by())
    ancestors = {}
    for node in nodes:
        for other in found:
            if other.taxonomy_id == node.taxonomy_id and other.code in node.ancestor_codes:
                ancestors[(other.taxonomy_id, other.code)] = other
    subtrees = {
        node.pk: sorted(
            other.pk
            for other in found
            if other.taxonomy_id == node.taxonomy_id and other.path.startswith(node.path)
        )
        for node in nodes
    }
    return ancestors, subtrees


def mitigation_also_in(
    mitigation: Mitigation,
    classifications: list[Classification],
    subtrees: dict[int, list[int]],
    limit: int = 5,
) -> list[AlsoIn]:
    """For each node that classifies ``mitigation`` in a taxonomy proper (not a vocabulary):
    a few other active mitigations at that node or below (``subtrees``: node id → the ids of
    its subtree, see :func:`node_relatives`), and, when they are all of them, how many.

    One query per node, not growing with the catalog: a walk of active records in public-ID
    order (the ``status, number`` index) that stops at ``limit + 1``. Up to ``limit`` others,
    the page names each and says how many the node's list holds; beyond (``more``), it names
    the first ``limit`` and links the node's list, which counts them. (An exact count per node
    grew with the catalog: 42 → 140 ms for the record page from 10,000 to 300,000 records on
    PostgreSQL; even one stopped at 1,000 grew 5 → 13 ms.)
    """
    placed = [
        c
        for c in classifications
        if c.taxonomy.kind == Taxonomy.Kind.TAXONOMY and c.taxonomy.status != "retired"
    ]
    result = []
    for classification in placed:
        node = classification.node
        in_subtree = Classification.objects.filter(
            mitigation=OuterRef("pk"), taxonomy_id=node.taxonomy_id, node_id__in=subtrees[node.pk]
        )
        found = list(
            Mitigation.objects.active()
            .filter(Exists(in_subtree))
            .exclude(pk=mitigation.pk)
            .order_by("number")
            .only("number", "name", "status")[: limit + 1]
        )
        more = len(found) > limit
        others = found[:limit]
        result.append(
            AlsoIn(
                node=node,
                mitigations=others,
                total=None if more else len(others),
                list_total=None if more else len(others) + (1 if mitigation.is_active else 0),
            )
        )
    return result


def mitigation_section_siblings(mitigation: Mitigation, limit: int = 20) -> list[Mitigation]:
    """Active mitigations from the same section of the same source (up to ``limit`` + 1)."""
    if not mitigation.section_path:
        return []
    return list(
        Mitigation.objects.active()
        .filter(source_id=mitigation.source_id, section_path=mitigation.section_path)
        .exclude(pk=mitigation.pk)
        .order_by("number")
        .only("number", "name", "status")[: limit + 1]
    )


def mitigation_merged_from(mitigation: Mitigation) -> list[Mitigation]:
    """Records merged into ``mitigation``: their links now lead here."""
    return list(mitigation.merged_from.order_by("number").only("number", "name", "merged_into"))


# --------------------------------------------------------------------------- coverage


def coverage_counts(
    rows_taxonomy: Taxonomy, columns_taxonomy: Taxonomy | None
) -> dict[tuple[int, int], int]:
    """Active mitigations per (node, column), a node counting its whole subtree.

    ``rows_taxonomy`` comes with its ``node_list`` (see :func:`taxonomy_list_with_nodes`).

    Columns are source documents (``columns_taxonomy`` None: keys are source ids) or the nodes
    of another taxonomy (keys are node ids; a mitigation at several of them counts in each).
    One aggregate query; by source, the tallies' rows when they are up to date.
    """
    if columns_taxonomy is None and tallies.ready():
        return tallies.node_source_counts(
            tallies.Scope((MitigationStatus.ACTIVE,)), [node.pk for node in rows_taxonomy.node_list]
        )
    mitigations = Mitigation.objects.active().annotate(
        row_class=FilteredRelation(
            "classifications", condition=Q(classifications__taxonomy=rows_taxonomy)
        )
    )
    if columns_taxonomy is None:
        column = "source_id"
    else:
        mitigations = mitigations.annotate(
            column_class=FilteredRelation(
                "classifications", condition=Q(classifications__taxonomy=columns_taxonomy)
            )
        ).filter(column_class__isnull=False)
        column = "column_class__node_id"
    mitigations = mitigations.filter(row_class__isnull=False).order_by()

    if not rows_taxonomy.multi_valued:
        direct: dict[int, dict[int, int]] = {}
        for node_id, key, count in mitigations.values_list("row_class__node_id", column).annotate(
            n=Count("id")
        ):
            direct.setdefault(key, {})[node_id] = count
        result = {}
        for key, per_node in direct.items():
            for node_id, total in _rollup(rows_taxonomy.node_list, per_node).items():
                if total:
                    result[(node_id, key)] = total
        return result
    nodes = rows_taxonomy.node_list
    if not nodes:
        return {}
    aggregates = {
        f"node_{node.pk}": Count(
            "id", distinct=True, filter=Q(row_class__node__path__startswith=node.path)
        )
        for node in nodes
    }
    result = {}
    for values in mitigations.values(column).annotate(**aggregates):
        for node in nodes:
            if values[f"node_{node.pk}"]:
                result[(node.pk, values[column])] = values[f"node_{node.pk}"]
    return result


@dataclass
class MitigationPage:
    mitigation: Mitigation
    classifications: list[Classification]
    also_in: list[AlsoIn]
    siblings: list[Mitigation]
    more_siblings: bool
    merged_from: list[Mitigation]
    timeline: list


def mitigation_page(mitigation: Mitigation, *, sibling_limit: int = 20) -> MitigationPage:
    """Everything a mitigation's page shows beside the record itself (a fixed number of
    queries: related nodes, "also in" (one per node of a taxonomy proper), siblings, merged
    records, history (2)). None of them grows with the catalog: each reads a few rows through
    an index, and none counts a node or a section.

    ``mitigation`` comes from :func:`mitigation_get_for_page`. Each classification gets its
    ``breadcrumb`` (the node's ancestors, root first) and nodes get their ``taxonomy``.
    """
    classifications = list(mitigation.classifications.all())
    ancestors, subtrees = node_relatives([c.node for c in classifications])
    for classification in classifications:
        classification.node.taxonomy = classification.taxonomy
        classification.breadcrumb = []
        for code in classification.node.ancestor_codes:
            ancestor = ancestors.get((classification.taxonomy_id, code))
            if ancestor is not None:
                ancestor.taxonomy = classification.taxonomy
                classification.breadcrumb.append(ancestor)
    siblings = mitigation_section_siblings(mitigation, limit=sibling_limit)
    return MitigationPage(
        mitigation=mitigation,
        classifications=classifications,
        also_in=mitigation_also_in(mitigation, classifications, subtrees),
        siblings=siblings[:sibling_limit],
        more_siblings=len(siblings) > sibling_limit,
        merged_from=mitigation_merged_from(mitigation),
        timeline=mitigation_timeline(mitigation),
    )


def mitigation_get_removal(number: int):
    """The history row that removed mitigation ``number``, with the version before it
    (``last_version``), if the record is gone; None if it exists or never did."""
    if Mitigation.objects.filter(number=number).exists():
        return None
    rows = list(
        Mitigation.history.filter(number=number)
        .select_related("history_user", "source")
        .order_by("-history_date", "-history_id")[:2]
    )
    if not rows or rows[0].history_type != "-":
        return None
    removal = rows[0]
    removal.last_version = rows[1] if len(rows) > 1 else rows[0]
    # The history the README promises stays readable: every change up to the removal, and what
    # caused the removal as readers see it (never an admin link).
    removal.timeline = mitigation_timeline(removal.instance)
    ref = removal.history_ref or ""
    removal.cause = describe_refs([ref])[ref] if ref else None
    return removal


# --------------------------------------------------------------------------- recent changes


@dataclass
class RecentChange:
    """One unit of work in the catalog's history (an import, a revert, an approval, an admin
    edit): when it last wrote, who, why, what caused it and how many rows of each kind."""

    when: object
    user: object
    reason: str
    ref: str
    counts: dict[str, int]
    mitigation_number: int | None = None  # the one record changed, if only one was

    @property
    def summary(self) -> str:
        return ", ".join(f"{count} {kind}" for kind, count in self.counts.items())


def history_list_recent_changes(limit: int = 10) -> list[RecentChange]:
    """The latest units of work across every curated model's history, newest first: rows
    written with the same user, reason and reference count as one (an import of 5,000 rows is
    one entry). One aggregate query per curated model, whatever the size of the history."""
    from django.contrib.auth import get_user_model
    from django.db.models import Max, Min

    models = (
        (Mitigation, "mitigation", "mitigations"),
        (Classification, "classification", "classifications"),
        (SourceDocument, "source document", "source documents"),
        (TaxonomyNode, "taxonomy node", "taxonomy nodes"),
        (Taxonomy, "taxonomy", "taxonomies"),
    )
    groups: dict[tuple, RecentChange] = {}
    for model, one, many in models:
        extra = {"low": Min("number"), "high": Max("number")} if model is Mitigation else {}
        rows = (
            model.history.order_by()
            .values("history_user_id", "history_change_reason", "history_ref")
            .annotate(last=Max("history_date"), n=Count("pk"), **extra)
            .order_by("-last")[:limit]
        )
        for row in rows:
            key = (row["history_user_id"], row["history_change_reason"], row["history_ref"])
            change = groups.get(key)
            if change is None:
                change = groups[key] = RecentChange(
                    when=row["last"],
                    user=row["history_user_id"],
                    reason=row["history_change_reason"] or "",
                    ref=row["history_ref"] or "",
                    counts={},
                )
            change.when = max(change.when, row["last"])
            change.counts[one if row["n"] == 1 else many] = row["n"]
            if model is Mitigation and row["low"] == row["high"]:
                change.mitigation_number = row["low"]
    latest = sorted(groups.values(), key=lambda change: change.when, reverse=True)[:limit]
    users = get_user_model().objects.in_bulk({c.user for c in latest if c.user is not None})
    for change in latest:
        change.user = users.get(change.user)
    return latest


# --------------------------------------------------------------------------- the API


def mitigation_list_rows_for_api(queryset: QuerySet[Mitigation]) -> QuerySet[Mitigation]:
    """:func:`mitigation_list_rows` with ``merged_into_number`` (the target's public ID
    number, or None), read by the same query as the rows."""
    return mitigation_list_rows(queryset).annotate(merged_into_number=F("merged_into__number"))


def mitigation_get_for_api(number: int) -> Mitigation | None:
    """One mitigation (any status) as the API shows it (two queries)."""
    return mitigation_list_rows_for_api(Mitigation.objects.filter(number=number)).first()


def source_get_with_count(short_ref: str) -> SourceDocument | None:
    """One source document with ``active_count`` (one query)."""
    if "\x00" in short_ref:
        return None  # no short reference holds one, and PostgreSQL refuses it in a query
    return source_list_with_counts().filter(short_ref=short_ref).first()


def taxonomy_levels(slug: str) -> int:
    """How many levels deep the taxonomy ``slug``'s tree goes (0: no such taxonomy or no
    nodes). One query."""
    paths = TaxonomyNode.objects.filter(taxonomy__slug=slug).values_list("path", flat=True)
    return max((path.strip("/").count("/") + 1 for path in paths), default=0)


def mitigation_get_with_source(number: int) -> Mitigation | None:
    """One mitigation (any status) with its source document (one query)."""
    return Mitigation.objects.select_related("source").filter(number=number).first()
