"""The public list of mitigations: its filters, facets, sorting and the URLs that carry them.

The whole state of ``/mitigations/`` lives in its query string, so any view can be shared or
bookmarked::

    ?q=red+team                       free text (see catalog.search)
    &airm-preliminary=3.1             a node of a taxonomy, by code; its descendants are included;
    &lifecycle=deploy                 one parameter per taxonomy (named after its slug), repeatable
    &source=NIST2024                  a source document by short reference, repeatable
    &doc_type=government              a document type, repeatable
    &year_min=2024&year_max=2025      the source's year, inclusive
    &status=active                    repeatable; absent means active records only
    &sort=relevance|id|name|source|changed
    &per_page=25&page=2

Values of one parameter are alternatives (OR); different parameters narrow each other (AND).
Each facet counts what its options would give under all the *other* active filters, in one
aggregate query per facet group.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

import django_filters
from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils.functional import cached_property

from . import search, selectors
from .models import (
    Classification,
    DocType,
    Mitigation,
    MitigationStatus,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
)

SORTS = {
    "relevance": "Relevance",
    "id": "Public ID",
    "name": "Name",
    "source": "Source",
    "changed": "Recently changed",
}
PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25
DEFAULT_STATUS = [MitigationStatus.ACTIVE.value]
YEAR_GROUP = "year"
YEAR_PARAMS = ("year_min", "year_max")
BASE_PARAMS = ("q", "source", "doc_type", *YEAR_PARAMS, "status", "sort", "per_page", "page")
FORM_FIELDS = ("q", *YEAR_PARAMS, "sort", "per_page")


def taxonomy_param(taxonomy: Taxonomy) -> str:
    """The query parameter that filters by ``taxonomy``: its slug, unless a base name has it."""
    return taxonomy.slug if taxonomy.slug not in BASE_PARAMS else f"taxonomy-{taxonomy.slug}"


def node_label(node: TaxonomyNode, taxonomy: Taxonomy | None = None) -> str:
    """A node as readers see it: code and name in a taxonomy, the name alone in a vocabulary."""
    taxonomy = taxonomy or node.taxonomy
    return node.label if taxonomy.kind == Taxonomy.Kind.TAXONOMY else node.name


def list_url(params: list[tuple[str, str]] | None = None) -> str:
    base = reverse("catalog:mitigation-list")
    return f"{base}?{urlencode(params)}" if params else base


def mitigation_list_url(*nodes: TaxonomyNode, source: SourceDocument | None = None) -> str:
    """The list filtered to ``nodes`` (each with its ``taxonomy`` loaded) and ``source``."""
    params = [(taxonomy_param(node.taxonomy), node.code) for node in nodes]
    if source is not None:
        params.append(("source", source.short_ref))
    return list_url(params)


class YearField(forms.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=1900, max_value=2100, **kwargs)


class YearFilter(django_filters.NumberFilter):
    field_class = YearField


class NodeFilter(django_filters.MultipleChoiceFilter):
    """Mitigations classified at any of the chosen nodes of one taxonomy, or below them."""

    def __init__(self, *, taxonomy: Taxonomy, nodes: list[TaxonomyNode], **kwargs):
        self.taxonomy = taxonomy
        self.nodes = nodes
        self.by_code = {node.code: node for node in nodes}
        super().__init__(
            choices=[(node.code, node.label) for node in nodes],
            label=taxonomy.name,
            distinct=False,
            **kwargs,
        )

    def subtree_ids(self, codes) -> list[int]:
        prefixes = tuple(self.by_code[code].path for code in codes)
        return sorted(node.pk for node in self.nodes if node.path.startswith(prefixes))

    def filter(self, qs, value):
        if not value:
            return qs
        placed = Classification.objects.filter(
            mitigation=OuterRef("pk"), node_id__in=self.subtree_ids(value)
        )
        return qs.filter(Exists(placed))


class MitigationFilterSet(django_filters.FilterSet):
    """Filters of the public list; built from the public taxonomies and the sources.

    Construction reads the taxonomies with their nodes and the source documents (three
    queries); they are kept for the facets (``taxonomies``, ``sources``).
    """

    q = django_filters.CharFilter(label="Search", method="filter_search")
    # No filter here can yield a row twice (node filters use EXISTS), so none asks for DISTINCT.
    source = django_filters.MultipleChoiceFilter(
        label="Source", method="filter_source", distinct=False
    )
    doc_type = django_filters.MultipleChoiceFilter(
        label="Document type",
        field_name="source__doc_type",
        choices=DocType.choices,
        distinct=False,
    )
    year_min = YearFilter(label="Year from", field_name="source__year", lookup_expr="gte")
    year_max = YearFilter(label="Year to", field_name="source__year", lookup_expr="lte")
    status = django_filters.MultipleChoiceFilter(
        label="Status", field_name="status", choices=MitigationStatus.choices, distinct=False
    )
    sort = django_filters.ChoiceFilter(
        label="Sort by", choices=list(SORTS.items()), method="no_filter"
    )
    per_page = django_filters.TypedChoiceFilter(
        label="Per page",
        choices=[(str(size), str(size)) for size in PAGE_SIZES],
        coerce=int,
        method="no_filter",
    )

    NOT_FILTERS = ("sort", "per_page")

    class Meta:
        model = Mitigation
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, **kwargs):
        if queryset is None:
            queryset = selectors.mitigation_list_base()
        super().__init__(QueryDict() if data is None else data, queryset, **kwargs)
        self.taxonomies = selectors.taxonomy_list_with_nodes()
        self.sources = list(selectors.source_list())
        self.sources_by_ref = {source.short_ref: source for source in self.sources}
        self.filters["source"].extra["choices"] = [(s.short_ref, s.short_ref) for s in self.sources]
        for taxonomy in self.taxonomies:
            node_filter = NodeFilter(taxonomy=taxonomy, nodes=taxonomy.node_list)
            node_filter.model = Mitigation
            node_filter.parent = self
            self.filters[taxonomy_param(taxonomy)] = node_filter

    # ---- filtering

    def filter_search(self, queryset, name, value):
        return search.mitigation_search(queryset, value)

    def filter_source(self, queryset, name, value):
        return queryset.filter(source_id__in=[self.sources_by_ref[ref].pk for ref in value])

    def no_filter(self, queryset, name, value):
        return queryset

    @cached_property
    def cleaned(self) -> dict:
        """The valid values, with the default status (active records only) filled in.

        Read only after validation (``is_valid()``).
        """
        values = dict(self.form.cleaned_data)
        if not values.get("status"):
            values["status"] = list(DEFAULT_STATUS)
        return values

    def filtered(self, queryset=None, *, without: tuple[str, ...] = ()) -> QuerySet[Mitigation]:
        """``queryset`` (default: the base) filtered by every active filter except ``without``."""
        queryset = self.queryset.all() if queryset is None else queryset
        for name, value in self.cleaned.items():
            if name in without or name in self.NOT_FILTERS:
                continue
            queryset = self.filters[name].filter(queryset, value)
        return queryset

    def filter_queryset(self, queryset):
        return self.sorted(self.filtered(queryset))

    @property
    def search_text(self) -> str:
        return search.normalise(self.cleaned.get("q"))

    @property
    def sort_key(self) -> str:
        chosen = self.cleaned.get("sort") or ("relevance" if self.search_text else "id")
        return "id" if chosen == "relevance" and not self.search_text else chosen

    @property
    def page_size(self) -> int:
        return self.cleaned.get("per_page") or DEFAULT_PAGE_SIZE

    def sorted(self, queryset):
        return queryset.order_by(
            *{
                "relevance": ("-search_rank", "number"),
                "id": ("number",),
                "name": ("name", "number"),
                "source": ("source__short_ref", "section_path", "number"),
                "changed": ("-updated_at", "-number"),
            }[self.sort_key]
        )

    # ---- facets

    def facet_counts(self) -> FacetCounts:
        """What each facet option would give under the other active filters.

        A group whose own filter is inactive counts within the fully filtered list, so such
        groups share their query: one for the single-valued taxonomies, one (grouped by source
        and status) for source, document type, year and status. An active group, or a
        multi-valued taxonomy, costs one query of its own. So: one query per facet group at
        most, two when no filter is set.
        """
        values = self.cleaned
        full = self.filtered()
        nodes: dict[int, dict[int, int]] = {}
        shared = [
            taxonomy
            for taxonomy in self.taxonomies
            if not taxonomy.multi_valued and not values.get(taxonomy_param(taxonomy))
        ]
        if shared:
            nodes.update(selectors.node_subtree_counts_by_taxonomy(shared, full))
        for taxonomy in self.taxonomies:
            if taxonomy.pk not in nodes:
                nodes[taxonomy.pk] = selectors.node_subtree_counts(
                    taxonomy,
                    taxonomy.node_list,
                    self.filtered(without=(taxonomy_param(taxonomy),)),
                )

        chosen_statuses = set(values["status"])
        by_status: Counter = Counter()
        by_source_in_full: Counter = Counter()
        per_source_status = selectors.mitigation_counts_by_source_and_status(
            self.filtered(without=("status",))
        )
        for (source_id, status), count in per_source_status.items():
            by_status[status] += count
            if status in chosen_statuses:
                by_source_in_full[source_id] += count

        def per_source(params: tuple[str, ...]) -> Counter:
            if not any(values.get(param) for param in params):
                return by_source_in_full
            return Counter(selectors.mitigation_counts_by_source(self.filtered(without=params)))

        sources = {source.pk: source for source in self.sources}
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
        )

    def facet_groups(self, state: ListState) -> list[FacetGroup]:
        """Every facet with its options, their counts and the links that toggle them."""
        values = self.cleaned
        counts = self.facet_counts()
        groups = []
        for taxonomy in self.taxonomies:
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
                    for source in self.sources
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

    # ---- what is active, and what removing it would give

    def active_filters(self, state: ListState) -> list[ActiveFilter]:
        """One entry per active filter group, in the order of the facets, with a removal link."""
        values = self.cleaned
        active = []
        if self.search_text:
            active.append(ActiveFilter("q", ("q",), "Search", f"“{self.search_text}”", state))
        for taxonomy in self.taxonomies:
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

    def count_without(self, active: ActiveFilter) -> int:
        return self.filtered(without=active.params).count()

    # ---- errors

    def error_messages(self) -> list[str]:
        """Readable errors naming the parameter: ``Year from (year_min): Enter a whole number.``"""
        messages = []
        for name, errors in self.form.errors.items():
            label = self.filters[name].label if name in self.filters else name
            for error in errors:
                messages.append(f"{label} ({name}): {error}")
        return messages


# --------------------------------------------------------------------------- URL state


class ListState:
    """The list's query string, and links that change one part of it (back to page 1)."""

    def __init__(self, params: QueryDict, known: set[str]):
        self.base = reverse("catalog:mitigation-list")
        self.params = QueryDict(mutable=True)
        for key in params:
            if key in known and key != "page":
                values = [value for value in params.getlist(key) if value != ""]
                if values:
                    self.params.setlist(key, values)

    def has(self, key: str) -> bool:
        return key in self.params

    def _url(self, params: QueryDict) -> str:
        encoded = params.urlencode()
        return f"{self.base}?{encoded}" if encoded else self.base

    @property
    def query(self) -> str:
        return self.params.urlencode()

    def url(self) -> str:
        return self._url(self.params)

    def toggle(
        self, key: str, value: str, default: list[str] | None = None, keep_one: bool = False
    ) -> str:
        """A link that adds ``value`` to ``key`` or takes it away.

        With ``keep_one``, the last remaining value cannot be taken away: the link is empty.
        """
        params = self.params.copy()
        current = params.getlist(key) or list(default or [])
        if value in current:
            if keep_one and current == [value]:
                return ""
            current.remove(value)
        else:
            current.append(value)
        if current and current != (default or []):
            params.setlist(key, current)
        else:
            params.pop(key, None)
        return self._url(params)

    def year(self, year: int, *, only: bool) -> str:
        params = self.params.copy()
        for key in YEAR_PARAMS:
            params.pop(key, None)
        if only:
            params["year_min"] = params["year_max"] = str(year)
        return self._url(params)

    def without(self, *keys: str) -> str:
        params = self.params.copy()
        for key in keys:
            params.pop(key, None)
        return self._url(params)

    def hidden_inputs(self, *, exclude: tuple[str, ...]) -> list[tuple[str, str]]:
        """The state as (name, value) pairs for hidden form inputs, minus the form's own fields."""
        return [
            (key, value)
            for key in self.params
            if key not in exclude
            for value in self.params.getlist(key)
        ]


@dataclass
class FacetCounts:
    nodes: dict[int, dict[int, int]]  # taxonomy id → node id → mitigations at or below it
    source: Counter  # source id → mitigations
    doc_type: Counter
    year: Counter
    status: Counter


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


# --------------------------------------------------------------------------- the page


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

    Queries: taxonomies, nodes and sources (3), the count and the page (2), the page's
    classifications (1), the facets (two, plus one per facet group whose own filter is set:
    see :meth:`MitigationFilterSet.facet_counts`); on an empty result, one count per active
    filter. None of it grows with the page size or the number of results.
    """
    filterset = MitigationFilterSet(params)
    known = set(filterset.filters) | {"page"}
    state = ListState(params, known)
    result = Browse(filterset=filterset, state=state)
    if not filterset.is_valid():
        result.errors = filterset.error_messages()
        return result
    paginator = Paginator(selectors.mitigation_list_rows(filterset.qs), filterset.page_size)
    result.page = paginator.get_page(params.get("page"))
    result.facets = filterset.facet_groups(state)
    result.active = filterset.active_filters(state)
    if result.total == 0:
        for active in result.active:
            active.count_without = filterset.count_without(active)
    return result


def filtered_for_export(params: QueryDict) -> tuple[QuerySet[Mitigation] | None, list[str]]:
    """The sorted, filtered queryset for a download, or the errors that prevent it."""
    filterset = MitigationFilterSet(params)
    if not filterset.is_valid():
        return None, filterset.error_messages()
    return filterset.qs, []
