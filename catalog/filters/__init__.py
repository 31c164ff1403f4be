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

The package holds one module per concern; callers import from the package itself:

- :mod:`.filterset`: :class:`MitigationFilterSet`, the one definition of what each parameter
  filters (the list page, the downloads, ``export_mitigations`` and any API use it);
- :mod:`.facets`: counting what each facet option would give, and the facet groups shown;
- :mod:`.state`: the URL state (:class:`ListState`) and links into the list;
- :mod:`.listing`: what the list page shows (:func:`browse`) and what a download streams.
"""

from .facets import FacetCounts, FacetGroup, FacetOption, facet_counts, facet_groups
from .filterset import (
    BASE_PARAMS,
    DEFAULT_PAGE_SIZE,
    DEFAULT_STATUS,
    FORM_FIELDS,
    PAGE_SIZES,
    SORTS,
    YEAR_GROUP,
    YEAR_PARAMS,
    MitigationFilterSet,
    NodeFilter,
    YearFilter,
    filter_choices,
    node_label,
    taxonomy_param,
)
from .listing import (
    ActiveFilter,
    Browse,
    active_filters,
    browse,
    count_without,
    filtered_for_export,
)
from .state import ListState, list_url, mitigation_list_url

__all__ = [
    "BASE_PARAMS",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_STATUS",
    "FORM_FIELDS",
    "PAGE_SIZES",
    "SORTS",
    "YEAR_GROUP",
    "YEAR_PARAMS",
    "ActiveFilter",
    "Browse",
    "FacetCounts",
    "FacetGroup",
    "FacetOption",
    "ListState",
    "MitigationFilterSet",
    "NodeFilter",
    "YearFilter",
    "active_filters",
    "browse",
    "count_without",
    "facet_counts",
    "facet_groups",
    "filter_choices",
    "filtered_for_export",
    "list_url",
    "mitigation_list_url",
    "node_label",
    "taxonomy_param",
]
