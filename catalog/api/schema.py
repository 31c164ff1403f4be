"""The OpenAPI description of the API (drf-spectacular).

The mitigation list's parameters are not written out by hand: :func:`list_parameters` reads
them from a fresh :class:`~catalog.filters.MitigationFilterSet` whenever the schema is built,
so a new taxonomy, node or source shows up in the schema (with its codes as the allowed
values) as soon as it is in the catalog, and the description can never drift from what the
list accepts.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from catalog import filters

from .pagination import CURSOR_PARAM
from .serializers import ErrorSerializer

PUBLIC_ID_PATTERN = r"^A[0-9]{1,7}(_[^/]+)?$"
NO_NUL = r"^[^\u0000]*$"


VALIDATORS = [
    OpenApiParameter(
        "ETag",
        str,
        OpenApiParameter.HEADER,
        response=[200],
        description="The catalog's version: send it back as If-None-Match to get 304 Not "
        "Modified while nothing changed.",
    ),
    OpenApiParameter(
        "Last-Modified",
        str,
        OpenApiParameter.HEADER,
        response=[200],
        description="When the catalog last changed (for If-Modified-Since).",
    ),
]


class CatalogAutoSchema(AutoSchema):
    """The project's schema class (``DEFAULT_SCHEMA_CLASS``): every answer carries the
    catalog's version as validators (see ``views.CatalogAPIView``)."""

    def get_override_parameters(self):
        return [*super().get_override_parameters(), *VALIDATORS]


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


THROTTLED = error(
    "Too many requests from this client; wait for the number of seconds in the Retry-After header."
)
NOT_FOUND = error("Nothing answers to the path parameter named in the error.")
BAD_PARAMETERS = error("A parameter cannot be used; the error names it and says why.")
MOVED = OpenApiResponse(
    None,
    description="Another form of the public ID (MIT's A0983_Ref, or unpadded): the Location "
    "header gives the canonical address.",
)
NOT_MODIFIED = OpenApiResponse(
    None,
    description="Nothing changed since the version named by If-None-Match (or the time in "
    "If-Modified-Since).",
)
GONE = error("The record was removed when the import that created it was reverted.")


def responses(ok, *extra: int) -> dict:
    """The responses of a GET: ``ok`` (a serializer) and the errors with codes ``extra``."""
    described = {
        301: MOVED,
        400: BAD_PARAMETERS,
        404: NOT_FOUND,
        410: GONE,
    }
    return {
        200: ok,
        304: NOT_MODIFIED,
        **{code: described[code] for code in extra},
        429: THROTTLED,
    }


PUBLIC_ID = OpenApiParameter(
    "id",
    {"type": "string", "pattern": PUBLIC_ID_PATTERN},
    OpenApiParameter.PATH,
    description="A public ID, e.g. A0983 (MIT's form A0983_Gipiškis2024 redirects to it).",
)
SLUG = OpenApiParameter(
    "slug",
    {"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$"},
    OpenApiParameter.PATH,
    description="A taxonomy's slug, e.g. airm-preliminary.",
)
NODE_CODE = OpenApiParameter(
    "code",
    {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*$"},
    OpenApiParameter.PATH,
    description="A node's code in its taxonomy, e.g. 3.1.",
)
SHORT_REF = OpenApiParameter(
    "short_ref",
    {"type": "string", "minLength": 1, "pattern": NO_NUL},
    OpenApiParameter.PATH,
    description="A source document's short reference, e.g. NIST2024.",
)


def _filter_parameter(name: str, item: django_filters.Filter) -> OpenApiParameter:
    """One FilterSet filter as an OpenAPI query parameter."""
    description = str(item.label or name)
    if isinstance(item, django_filters.MultipleChoiceFilter):
        values = [str(value) for value, _ in item.extra["choices"]]
        return OpenApiParameter(
            name,
            {"type": "array", "items": {"type": "string", "enum": values}},
            description=f"{description}: any of these (repeat the parameter for several).",
            style="form",
            explode=True,
        )
    if isinstance(item, django_filters.TypedChoiceFilter):
        return OpenApiParameter(
            name,
            {"type": "integer", "enum": [int(value) for value, _ in item.extra["choices"]]},
            description=f"{description} (default {filters.DEFAULT_PAGE_SIZE}).",
        )
    if isinstance(item, django_filters.ChoiceFilter):
        values = [str(value) for value, _ in item.extra["choices"]]
        return OpenApiParameter(
            name, {"type": "string", "enum": values}, description=f"{description}."
        )
    if isinstance(item, filters.YearFilter):
        return OpenApiParameter(
            name,
            {"type": "integer", "minimum": 1900, "maximum": 2100},
            description=f"{description} (the source document's year, inclusive).",
        )
    return OpenApiParameter(
        name, {"type": "string", "pattern": NO_NUL}, description=f"{description}."
    )


NODE_HELP = (
    "Mitigations at any of these nodes of {name} (by code), or below them; repeat the "
    "parameter for several."
)


def list_parameters() -> list[OpenApiParameter]:
    """Every parameter of the public list, read from its FilterSet, plus ``cursor``."""
    filterset = filters.MitigationFilterSet()
    parameters = []
    for name, item in filterset.filters.items():
        parameter = _filter_parameter(name, item)
        if isinstance(item, filters.NodeFilter):
            parameter.description = NODE_HELP.format(name=item.taxonomy.name)
        parameters.append(parameter)
    by_name = {parameter.name: parameter for parameter in parameters}
    by_name[
        "q"
    ].description = (
        "Free text over names, definitions and source sections; a public ID finds that record."
    )
    by_name["status"].description += " Without it, active records only."
    by_name["sort"].description = (
        "The order: relevance (with q; the default then), id (the default without q), name, "
        "source, changed (most recently changed first)."
    )
    parameters.append(
        OpenApiParameter(
            CURSOR_PARAM,
            {"type": "string", "pattern": r"^[A-Za-z0-9_-]*$"},
            description="Where a page starts: take it from the next or previous link.",
        )
    )
    return parameters


class MitigationListSchema(CatalogAutoSchema):
    def get_override_parameters(self):
        return [*super().get_override_parameters(), *list_parameters()]


COVERAGE_MAX_DEPTH = 20


def coverage_parameters() -> list[OpenApiParameter]:
    """The coverage matrix's parameters, with today's taxonomies as their allowed values."""
    from catalog import coverage, selectors
    from catalog.models import Taxonomy

    taxonomies = list(selectors.taxonomy_list_public())
    rows = [t.slug for t in taxonomies if t.kind == Taxonomy.Kind.TAXONOMY]
    columns = [coverage.SOURCE_COLUMNS] + [
        t.slug for t in taxonomies if t.kind == Taxonomy.Kind.VOCABULARY
    ]
    return [
        OpenApiParameter(
            "rows",
            {"type": "string", "enum": rows},
            description=f"The taxonomy whose nodes are the rows (default {coverage.DEFAULT_ROWS}).",
        ),
        OpenApiParameter(
            "by",
            {"type": "string", "enum": columns},
            description="The columns: source documents (the default) or a vocabulary's nodes.",
        ),
        OpenApiParameter(
            "depth",
            {"type": "integer", "minimum": 1, "maximum": COVERAGE_MAX_DEPTH},
            description="How many levels of the rows' taxonomy to show (default 1); more "
            "levels than it has shows them all.",
        ),
    ]


class CoverageSchema(CatalogAutoSchema):
    def get_override_parameters(self):
        return [*super().get_override_parameters(), *coverage_parameters()]
