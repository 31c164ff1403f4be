"""The list's facets: how many results each option would give, and the links that pick it.

:func:`facet_counts` counts, for the current filters, what each option of each facet group
(every public taxonomy, source, document type, year, status) would give under all the
*other* active filters, in one aggregate query per facet group at most. :func:`facet_groups`
turns the counts into what the page shows: options with counts, links and titles.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from .. import selectors, tallies
from ..models import DocType, MitigationStatus, Taxonomy
from .filterset import (
    DEFAULT_STATUS,
    YEAR_GROUP,
    YEAR_PARAMS,
    MitigationFilterSet,
    taxonomy_param,
)
from .state import ListState


@dataclass
class FacetCounts:
    nodes: dict[int, dict[int, int]]  # taxonomy id → node id → mitigations at or below it
    source: Counter  # source id → mitigations
    doc_type: Counter
    year: Counter
    status: Counter
    total: int = 0  # the filtered list's count: the chosen statuses of the status grouping


@dataclass
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool
    url: str
    code: str = ""
    depth: int = 0
    title: str = ""


@dataclass
class FacetGroup:
    param: str
    label: str
    options: list[FacetOption]
    clear_url: str = ""
    is_tree: bool = False

    @property
    def is_active(self) -> bool:
        return bool(self.clear_url)

    @property
    def visible_options(self) -> list[FacetOption]:
        """Options that would give results, and any chosen one (so it can be unchosen)."""
        return [option for option in self.options if option.count or option.selected]


def facet_counts(filterset: MitigationFilterSet) -> FacetCounts:
    """What each facet option would give under the other active filters.

    Where the other filters are ones the tallies can count (statuses, source-level filters,
    at most one node: :meth:`~.filterset.MitigationFilterSet.tally_scope`), the counts are
    sums of :mod:`~catalog.tallies` rows, whatever the size of the catalog. Otherwise a group
    whose own filter is inactive counts within the fully filtered list, so such groups share
    their query: one for the single-valued taxonomies, one (grouped by source and status)
    for source, document type, year and status. An active group, or a multi-valued taxonomy,
    costs one query of its own. So: one query per facet group at most.
    """
    counter = _Counter(filterset)
    values = filterset.cleaned
    nodes: dict[int, dict[int, int]] = {}
    shared = [
        taxonomy
        for taxonomy in filterset.taxonomies
        if not taxonomy.multi_valued and not values.get(taxonomy_param(taxonomy))
    ]
    if shared:
        per_node = counter.node_counts(())
        if per_node is None:
            counted = selectors.node_subtree_counts_by_taxonomy(shared, counter.live(()))
            per_node = {n: c for per_taxonomy in counted.values() for n, c in per_taxonomy.items()}
        for taxonomy in shared:
            nodes[taxonomy.pk] = {n.pk: per_node.get(n.pk, 0) for n in taxonomy.node_list}
    for taxonomy in filterset.taxonomies:
        if taxonomy.pk in nodes:
            continue
        param = taxonomy_param(taxonomy)
        without = (param,) if values.get(param) else ()
        per_node = counter.node_counts(without)
        if per_node is None:
            per_node = selectors.node_subtree_counts(
                taxonomy, taxonomy.node_list, counter.live(without)
            )
        nodes[taxonomy.pk] = {node.pk: per_node.get(node.pk, 0) for node in taxonomy.node_list}

    chosen_statuses = set(values["status"])
    by_status: Counter = Counter()
    by_source_in_full: Counter = Counter()
    for (source_id, status), count in counter.source_status_counts(("status",)).items():
        by_status[status] += count
        if status in chosen_statuses:
            by_source_in_full[source_id] += count

    def per_source(params: tuple[str, ...]) -> Counter:
        if not any(values.get(param) for param in params):
            return by_source_in_full
        return counter.source_counts(params)

    sources = {source.pk: source for source in filterset.sources}
    by_type: Counter = Counter()
    for source_id, count in per_source(("doc_type",)).items():
        by_type[sources[source_id].doc_type] += count
    by_year: Counter = Counter()
    for source_id, count in per_source(YEAR_PARAMS).items():
        by_year[sources[source_id].year] += count
    return FacetCounts(
        nodes=nodes,
        source=per_source(("source",)),
        doc_type=by_type,
        year=by_year,
        status=by_status,
        total=sum(by_source_in_full.values()),
    )


class _Counter:
    """Counts under the active filters but some: from the tallies where they can (checked to
    be up to date once, with one query, on the first use), from the rows otherwise."""

    def __init__(self, filterset: MitigationFilterSet):
        self.filterset = filterset
        self._ready: bool | None = None
        self._node_counts: dict[tallies.Scope, dict[int, int]] = {}

    def tallied(self, without: tuple[str, ...], *, nodeless: bool = False) -> tallies.Scope | None:
        """The scope of the filters but ``without`` if the tallies can count it (``nodeless``:
        only without a node filter), else None."""
        scope = self.filterset.tally_scope(without=without)
        if scope is None or scope.is_empty:
            return scope
        if nodeless and scope.node_id != tallies.EVERYTHING:
            return None
        if self._ready is None:
            self._ready = tallies.ready()
        return scope if self._ready else None

    def live(self, without: tuple[str, ...]):
        # Filtered by status alone (the unfiltered list): the classifications' counts need
        # not join the many records kept, only exclude the few of other statuses.
        state = [name for name, _ in self.filterset.state_key if name not in without]
        if state == ["status"]:
            return selectors.with_status(self.filterset.cleaned["status"])
        return self.filterset.filtered(without=without)

    def node_counts(self, without: tuple[str, ...]) -> dict[int, int] | None:
        """Node id → count from the tallies, or None where they cannot count it (another
        taxonomy's node is chosen: a node within a node needs the rows)."""
        scope = self.tallied(without, nodeless=True)
        if scope is None:
            return None
        if scope.is_empty:
            return {}
        if scope not in self._node_counts:
            self._node_counts[scope] = tallies.node_counts(scope)
        return self._node_counts[scope]

    def source_status_counts(self, without: tuple[str, ...]) -> dict[tuple[int, str], int]:
        scope = self.tallied(without)
        if scope is not None:
            return tallies.source_status_counts(
                replace(scope, statuses=tuple(MitigationStatus.values))
            )
        return selectors.mitigation_counts_by_source_and_status(
            self.filterset.filtered(without=without)
        )

    def source_counts(self, without: tuple[str, ...]) -> Counter:
        scope = self.tallied(without)
        if scope is not None:
            return Counter(tallies.source_counts(scope))
        return Counter(
            selectors.mitigation_counts_by_source(self.filterset.filtered(without=without))
        )


def facet_groups(
    filterset: MitigationFilterSet, state: ListState, counts: FacetCounts | None = None
) -> list[FacetGroup]:
    """Every facet with its options, their counts and the links that toggle them."""
    values = filterset.cleaned
    counts = counts or facet_counts(filterset)
    groups = []
    for taxonomy in filterset.taxonomies:
        param = taxonomy_param(taxonomy)
        node_counts = counts.nodes[taxonomy.pk]
        chosen = set(values.get(param) or ())
        options = [
            FacetOption(
                value=node.code,
                label=node.name,
                code=node.code if taxonomy.kind == Taxonomy.Kind.TAXONOMY else "",
                count=node_counts.get(node.pk, 0),
                selected=node.code in chosen,
                url=state.toggle(param, node.code),
                depth=node.depth,
                title=node.definition,
            )
            for node in taxonomy.node_list
        ]
        groups.append(
            FacetGroup(
                param=param,
                label=taxonomy.name,
                options=options,
                clear_url=state.without(param) if chosen else "",
                is_tree=any(node.parent_id for node in taxonomy.node_list),
            )
        )

    chosen = set(values.get("source") or ())
    groups.append(
        FacetGroup(
            param="source",
            label="Source document",
            options=[
                FacetOption(
                    value=source.short_ref,
                    label=source.short_ref,
                    count=counts.source.get(source.pk, 0),
                    selected=source.short_ref in chosen,
                    url=state.toggle("source", source.short_ref),
                    title=source.title,
                )
                for source in filterset.sources
            ],
            clear_url=state.without("source") if chosen else "",
        )
    )

    chosen = set(values.get("doc_type") or ())
    groups.append(
        FacetGroup(
            param="doc_type",
            label="Document type",
            options=[
                FacetOption(
                    value=value,
                    label=label,
                    count=counts.doc_type.get(value, 0),
                    selected=value in chosen,
                    url=state.toggle("doc_type", value),
                )
                for value, label in DocType.choices
            ],
            clear_url=state.without("doc_type") if chosen else "",
        )
    )

    low, high = values.get("year_min"), values.get("year_max")
    groups.append(
        FacetGroup(
            param=YEAR_GROUP,
            label="Year",
            options=[
                FacetOption(
                    value=str(year),
                    label=str(year),
                    count=count,
                    selected=bool(low or high)
                    and (low is None or low <= year)
                    and (high is None or year <= high),
                    url=state.year(year, only=(low, high) != (year, year)),
                )
                for year, count in sorted(
                    (y, c) for y, c in counts.year.items() if y is not None and c
                )
            ],
            clear_url=state.without(*YEAR_PARAMS) if low or high else "",
        )
    )

    chosen = set(values["status"])
    groups.append(
        FacetGroup(
            param="status",
            label="Status",
            options=[
                FacetOption(
                    value=value,
                    label=label,
                    count=counts.status.get(value, 0),
                    selected=value in chosen,
                    url=state.toggle("status", value, default=DEFAULT_STATUS, keep_one=True),
                )
                for value, label in MitigationStatus.choices
            ],
            clear_url=state.without("status") if state.has("status") else "",
        )
    )
    return groups
