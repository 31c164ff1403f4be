"""What the list page shows: the page of results, the facets, the active filters, and why
nothing matched; and the filtered queryset a download streams.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse

from .. import selectors
from ..models import DocType, Mitigation, MitigationStatus
from ..version import cached
from .facets import FacetCounts, FacetGroup, facet_counts, facet_groups
from .filterset import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_STATUS,
    FORM_FIELDS,
    PAGE_SIZES,
    SORTS,
    YEAR_GROUP,
    YEAR_PARAMS,
    MitigationFilterSet,
    filter_choices,
    node_label,
    taxonomy_param,
)
from .state import ListState


@dataclass
class ActiveFilter:
    key: str
    params: tuple[str, ...]
    label: str
    value: str
    state: ListState = field(repr=False)
    count_without: int | None = None

    @property
    def remove_url(self) -> str:
        return self.state.without(*self.params)


def active_filters(filterset: MitigationFilterSet, state: ListState) -> list[ActiveFilter]:
    """One entry per active filter group, in the order of the facets, with a removal link."""
    values = filterset.cleaned
    active = []
    if filterset.search_text:
        active.append(ActiveFilter("q", ("q",), "Search", f"“{filterset.search_text}”", state))
    for taxonomy in filterset.taxonomies:
        param = taxonomy_param(taxonomy)
        codes = values.get(param)
        if codes:
            by_code = {node.code: node for node in taxonomy.node_list}
            shown = ", ".join(node_label(by_code[code], taxonomy) for code in codes)
            active.append(ActiveFilter(param, (param,), taxonomy.name, shown, state))
    if values.get("source"):
        shown = ", ".join(values["source"])
        active.append(ActiveFilter("source", ("source",), "Source", shown, state))
    if values.get("doc_type"):
        labels = dict(DocType.choices)
        shown = ", ".join(labels[value] for value in values["doc_type"])
        active.append(ActiveFilter("doc_type", ("doc_type",), "Document type", shown, state))
    low, high = values.get("year_min"), values.get("year_max")
    if low or high:
        shown = f"{low or '…'}–{high or '…'}" if low != high else str(low)
        active.append(ActiveFilter(YEAR_GROUP, YEAR_PARAMS, "Year", shown, state))
    if values["status"] != DEFAULT_STATUS:
        labels = dict(MitigationStatus.choices)
        shown = ", ".join(labels[value] for value in values["status"])
        active.append(ActiveFilter("status", ("status",), "Status", shown, state))
    return active


def count_without(filterset: MitigationFilterSet, active: ActiveFilter, counts: FacetCounts) -> int:
    """How many results the list would have without ``active``'s filter.

    A source, document type, year or status filter's facet (in ``counts``) is counted under
    every other filter, so its counts add up to that number (no query); a taxonomy's nodes may
    share records, and a search has no facet, so those cost a count.
    """
    by_key = {
        "source": counts.source,
        "doc_type": counts.doc_type,
        YEAR_GROUP: counts.year,
        "status": counts.status,
    }
    if active.key in by_key:
        return sum(by_key[active.key].values())
    return filterset.filtered(without=active.params).count()


@dataclass
class Browse:
    """Everything the list page shows, read in a fixed number of queries."""

    filterset: MitigationFilterSet
    state: ListState
    page: Page | None = None
    facets: list[FacetGroup] = field(default_factory=list)
    active: list[ActiveFilter] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def total(self) -> int:
        return self.page.paginator.count if self.page else 0

    @property
    def sort_key(self) -> str:
        return self.filterset.sort_key

    @property
    def per_page(self) -> int:
        return self.filterset.page_size

    @property
    def active_filter_count(self) -> int:
        """Active filters, the search not counted (the "Filters (n)" control on phones)."""
        return sum(1 for active in self.active if active.key != "q")

    @property
    def sort_options(self) -> list[tuple[str, str, bool]]:
        """The sort menu as (value, label, selected). The default order (relevance for a
        search, else public ID) comes first with an empty value, which the form leaves out of
        the address: a search typed over an unchanged menu is ranked by relevance."""
        default = "relevance" if self.filterset.search_text else "id"
        options = [("", SORTS[default], self.sort_key == default)]
        for value, label in SORTS.items():
            if value not in (default, "relevance"):
                options.append((value, label, self.sort_key == value))
        return options

    @property
    def per_page_options(self) -> list[tuple[str, int, bool]]:
        """The page-size menu as (value, size, selected); the default size has an empty value."""
        return [
            ("" if size == DEFAULT_PAGE_SIZE else str(size), size, size == self.per_page)
            for size in PAGE_SIZES
        ]

    @property
    def form_hidden(self) -> list[tuple[str, str]]:
        """The rest of the state, carried by the search form as hidden inputs."""
        return self.state.hidden_inputs(exclude=FORM_FIELDS)

    @property
    def form_values(self) -> dict[str, str]:
        return {name: self.state.params.get(name, "") for name in FORM_FIELDS}

    def export_url(self, fmt: str) -> str:
        base = reverse("catalog:mitigation-export", kwargs={"fmt": fmt})
        params = self.state.params.copy()
        params.pop("per_page", None)
        encoded = params.urlencode()
        return f"{base}?{encoded}" if encoded else base

    @property
    def export_links(self) -> list[tuple[str, str]]:
        return [(fmt.upper(), self.export_url(fmt)) for fmt in ("csv", "xlsx", "json")]


def browse(params: QueryDict) -> Browse:
    """The list page for ``params``: the page of results, facets, active filters, help.

    Queries: taxonomies, nodes and sources (3), the page (1), the page's classifications (1),
    the facets (two, plus one per facet group whose own filter is set: see
    :func:`~catalog.filters.facets.facet_counts`), which also give the list's count; on an
    empty result, one count per active search or taxonomy filter (the others' come from their
    facets: :func:`count_without`). None of it grows with the page size or the number of
    results. The filters' choices and the facet counts are kept under the catalog version for
    this filter state (:func:`catalog.version.cached`, keyed by
    :attr:`MitigationFilterSet.state_key`), so another page, sort or page size of the same
    filters reads only its rows.
    """
    filterset = MitigationFilterSet(params, choices=cached("filter-choices", filter_choices))
    known = set(filterset.filters) | {"page"}
    state = ListState(params, known)
    result = Browse(filterset=filterset, state=state)
    if not filterset.is_valid():
        result.errors = filterset.error_messages()
        return result
    key = filterset.state_key
    counts = cached("facet-counts", lambda: facet_counts(filterset), parts=key)
    paginator = Paginator(selectors.mitigation_list_rows(filterset.qs), filterset.page_size)
    paginator.count = counts.total
    result.page = paginator.get_page(params.get("page"))
    result.facets = facet_groups(filterset, state, counts)
    result.active = active_filters(filterset, state)
    if result.total == 0:
        for active in result.active:
            active.count_without = count_without(filterset, active, counts)
    return result


def filtered_for_export(params: QueryDict) -> tuple[QuerySet[Mitigation] | None, list[str]]:
    """The sorted, filtered queryset for a download, or the errors that prevent it."""
    filterset = MitigationFilterSet(params)
    if not filterset.is_valid():
        return None, filterset.error_messages()
    return filterset.qs, []
