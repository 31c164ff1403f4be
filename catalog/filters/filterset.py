"""The FilterSet of the public list: what each query parameter of ``/mitigations/`` filters.

:class:`MitigationFilterSet` is the one definition of the list's filters, built from the
public taxonomies and the source documents; the list page, the downloads, the export command
(and an API) all filter through it. Import it from the package: ``from catalog.filters import
MitigationFilterSet``.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, QuerySet
from django.http import QueryDict
from django.utils.functional import cached_property

from .. import search, selectors, tallies
from ..models import (
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


type FilterChoices = tuple[list[Taxonomy], list[SourceDocument]]


def filter_choices() -> FilterChoices:
    """What the filters offer: the public taxonomies with their nodes, and the sources (three
    queries; a page keeps them under the catalog version, see :func:`~.listing.browse`)."""
    return selectors.taxonomy_list_with_nodes(), list(selectors.source_list())


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
    # Document type and year belong to the source: they become the ids of the sources that
    # have them (read with the choices), so no query joins the sources, and a combination no
    # source has (NIST2024 from 2025 on) is known empty without asking the database.
    doc_type = django_filters.MultipleChoiceFilter(
        label="Document type",
        choices=DocType.choices,
        method="filter_doc_type",
        distinct=False,
    )
    year_min = YearFilter(label="Year from", method="filter_year_min")
    year_max = YearFilter(label="Year to", method="filter_year_max")
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

    def __init__(self, data=None, queryset=None, *, choices: FilterChoices | None = None, **kwargs):
        if queryset is None:
            queryset = selectors.mitigation_list_base()
        super().__init__(QueryDict() if data is None else data, queryset, **kwargs)
        self.taxonomies, self.sources = choices or filter_choices()
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

    SOURCE_FILTERS = ("source", "doc_type", *YEAR_PARAMS)

    def source_ids(self, name: str, value) -> list[int]:
        """The ids of the sources that the source-level filter ``name`` keeps for ``value``."""
        keep = {
            "source": lambda source: source.short_ref in value,
            "doc_type": lambda source: source.doc_type in value,
            "year_min": lambda source: source.year is not None and source.year >= value,
            "year_max": lambda source: source.year is not None and source.year <= value,
        }[name]
        return [source.pk for source in self.sources if keep(source)]

    def filter_source(self, queryset, name, value):
        return queryset.filter(source_id__in=self.source_ids(name, value))

    filter_doc_type = filter_year_min = filter_year_max = filter_source

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

    def tally_scope(self, *, without: tuple[str, ...] = ()) -> tallies.Scope | None:
        """The active filters except ``without`` as a :class:`~catalog.tallies.Scope`, when the
        tallies can count them: statuses, source-level filters (as source ids) and at most one
        node (one chosen code, or codes all within one chosen subtree). None when a search,
        two nodes, or two disjoint subtrees are in force: those need the rows."""
        values = self.cleaned
        source_ids: set[int] | None = None
        node_id = tallies.EVERYTHING
        for name, value in values.items():
            if name in without or name in self.NOT_FILTERS or name == "status":
                continue
            if value in (None, "", []):
                continue
            if name in self.SOURCE_FILTERS:
                kept = set(self.source_ids(name, value))
                source_ids = kept if source_ids is None else source_ids & kept
                continue
            node_filter = self.filters[name]
            if not isinstance(node_filter, NodeFilter) or node_id != tallies.EVERYTHING:
                return None
            chosen = [node_filter.by_code[code] for code in value]
            tops = [
                node
                for node in chosen
                if not any(
                    other.path != node.path and node.path.startswith(other.path) for other in chosen
                )
            ]
            if len({node.pk for node in tops}) != 1:
                return None
            node_id = tops[0].pk
        return tallies.Scope(
            statuses=tuple(sorted(values["status"])),
            source_ids=None if source_ids is None else frozenset(source_ids),
            node_id=node_id,
        )

    @cached_property
    def state_key(self) -> tuple:
        """The filters in force, as a stable key: equal for two addresses that filter alike
        (whatever their order, sort, page size or page). Read only after validation."""
        return tuple(
            (name, repr(sorted(value) if isinstance(value, list) else value))
            for name, value in sorted(self.cleaned.items())
            if name not in self.NOT_FILTERS and value not in (None, "", [])
        )

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

    # ---- errors

    def error_messages(self) -> list[str]:
        """Readable errors naming the parameter: ``Year from (year_min): Enter a whole number.``"""
        messages = []
        for name, errors in self.form.errors.items():
            label = self.filters[name].label if name in self.filters else name
            for error in errors:
                messages.append(f"{label} ({name}): {error}")
        return messages
