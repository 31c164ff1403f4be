"""The API's endpoints: parse, look up through the selectors, serialize. GET only."""

from __future__ import annotations

from django.http import HttpResponse, QueryDict
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.csp import CSP, build_policy
from django.utils.http import http_date
from django.views.generic import TemplateView
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import coverage as coverage_chart
from catalog import filters, selectors, version
from catalog.models import parse_public_id
from catalog.page_cache import is_shared
from catalog.timeline import mitigation_timeline
from catalog.version import cached, catalog_version

from . import serializers as s
from .errors import CachedAnswer, GoneError, NotFoundError, NotModified, ParameterError
from .pagination import CURSOR_PARAM, paginate
from .schema import (
    COVERAGE_MAX_DEPTH,
    NODE_CODE,
    PUBLIC_ID,
    SHORT_REF,
    SLUG,
    CoverageSchema,
    MitigationListSchema,
    responses,
)

# --------------------------------------------------------------------------- helpers


def _absolute(request, path: str, params: QueryDict | None = None) -> str:
    query = params.urlencode() if params else ""
    return request.build_absolute_uri(f"{path}?{query}" if query else path)


def _context(request) -> dict:
    return {"request": request}


def _filterset_problems(filterset: filters.MitigationFilterSet) -> list[tuple[str, str]]:
    return [
        (name, str(message))
        for name, messages in filterset.form.errors.items()
        for message in messages
    ]


def _parameter_problems(params: QueryDict, filterset) -> list[tuple[str, str]]:
    """What the list page would quietly ignore but an API client should hear about."""
    problems = []
    if "page" in params:
        problems.append(
            ("page", "The API pages with cursors: follow the next link instead of a page number.")
        )
    for name in params:
        if name in filterset.filters and name != "q" and "" in params.getlist(name):
            problems.append((name, "An empty value: leave the parameter out instead."))
    return problems


def _mitigation_or_error(request, public_id: str):
    """The record for ``public_id``, or the 404/410 error for it."""
    number = parse_public_id(public_id)
    mitigation = selectors.mitigation_get_for_api(number) if number else None
    if mitigation is not None:
        return mitigation
    removal = selectors.mitigation_get_removal(number) if number else None
    if removal is not None:
        reason = removal.history_change_reason or "no reason given"
        raise GoneError("id", f"{public_id} was removed ({reason}).")
    raise NotFoundError("id", f"No mitigation {public_id}.")


def _moved(url: str) -> Response:
    return Response(status=301, headers={"Location": url})


class CatalogAPIView(APIView):
    """A read-only endpoint whose answers carry the catalog's version as validators.

    Every answer is a function of the catalog's state, and every write to the catalog bumps
    its version (:mod:`catalog.version`), so the version names the representation: ``ETag``
    is the version's key and ``Last-Modified`` the time of the last write. A client that sends
    them back (``If-None-Match`` / ``If-Modified-Since``) while nothing changed gets ``304 Not
    Modified`` before any other query runs. Costs one query (the version) per request.
    """

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        current = self.version = catalog_version()
        self.validators = (f'"{current.key}"', current.changed_at)
        not_modified = get_conditional_response(
            request,
            etag=self.validators[0],
            last_modified=_timestamp(current.changed_at),
        )
        if not_modified is not None:
            raise NotModified(not_modified)
        # An anonymous reader's answer is the same for every such reader: kept whole under the
        # version and the address (as the public pages are, catalog/page_cache.py), so a repeated
        # question costs the version and one cache read.
        self.kept_as = None
        if is_shared(request._request):
            self.kept_as = version.cache_key(current, "api", (request.build_absolute_uri(),))
            body = version.kept(self.kept_as)
            if body is not None:
                self.kept_as = None
                raise CachedAnswer(HttpResponse(body, content_type="application/json"))

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        keep = getattr(self, "kept_as", None) and response.status_code == 200
        if keep and isinstance(response, Response) and not response.cookies:
            response.render()
            version.keep(self.kept_as, response.content)
        validators = getattr(self, "validators", None)
        if validators and response.status_code in (200, 304):
            etag, changed_at = validators
            response.headers.setdefault("ETag", etag)
            if changed_at is not None:
                response.headers.setdefault("Last-Modified", http_date(_timestamp(changed_at)))
        return response


def _timestamp(moment) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


# --------------------------------------------------------------------------- documentation


class DocsPage(TemplateView):
    """Swagger UI or Redoc, from the site's own static files, under a policy that lets the
    page load nothing from elsewhere (Redoc's footer links a logo on Redocly's server: the
    browser is not allowed to fetch it). The tools set inline styles and Redoc starts its
    search in a worker made from a blob, hence those two allowances, on these pages only.
    """

    policy = {
        "default-src": [CSP.SELF],
        "script-src": [CSP.SELF],
        "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
        "img-src": [CSP.SELF, "data:"],
        "font-src": [CSP.SELF, "data:"],
        "connect-src": [CSP.SELF],
        "worker-src": [CSP.SELF, "blob:"],
        "object-src": [CSP.NONE],
        "base-uri": [CSP.NONE],
        "frame-ancestors": [CSP.NONE],
        "form-action": [CSP.SELF],
    }

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.headers[str(CSP.HEADER_ENFORCE)] = build_policy(self.policy)
        return response


# --------------------------------------------------------------------------- the root


class Root(CatalogAPIView):
    """Where everything is."""

    @extend_schema(
        responses=responses(s.RootSerializer), summary="The API's endpoints", operation_id="root"
    )
    def get(self, request):
        def url(name):
            return request.build_absolute_uri(reverse(f"api:{name}"))

        return Response(
            {
                "name": "AIRM Curator API",
                "version": "1",
                "documentation": url("docs"),
                "schema": url("schema"),
                "endpoints": {
                    "mitigations": url("mitigation-list"),
                    "taxonomies": url("taxonomy-list"),
                    "sources": url("source-list"),
                    "coverage": url("coverage"),
                    "releases": url("release-list"),
                },
            }
        )


# --------------------------------------------------------------------------- mitigations


class MitigationList(CatalogAPIView):
    """The public list of mitigations, as JSON.

    Takes every parameter of the list page `/mitigations/` under the same name, through the
    same FilterSet, and returns the same records in the same order; pages are cursor-based.
    """

    schema = MitigationListSchema()

    @extend_schema(
        responses=responses(s.MitigationPageSerializer, 400),
        summary="List mitigations",
        operation_id="mitigations_list",
    )
    def get(self, request):
        params = request.query_params
        # The filters' choices and the count come from the cache the HTML list fills, under the
        # catalog version and the filter state: the same numbers, computed once for both.
        filterset = filters.MitigationFilterSet(
            params, choices=cached("filter-choices", filters.filter_choices, version=self.version)
        )
        problems = _parameter_problems(params, filterset)
        if not filterset.is_valid():
            problems += _filterset_problems(filterset)
        if problems:
            raise ParameterError(problems)
        page = paginate(
            selectors.mitigation_list_rows_for_api(filterset.qs),
            page_size=filterset.page_size,
            sort=filterset.sort_key,
            cursor=params.get(CURSOR_PARAM),
        )
        count = cached(
            "list-count",
            filterset.filtered().count,
            parts=filterset.state_key,
            version=self.version,
        )

        def link(cursor):
            if cursor is None:
                return None
            linked = params.copy()
            linked[CURSOR_PARAM] = cursor
            return _absolute(request, request.path, linked)

        data = {
            "count": count,
            "next": link(page.next_cursor),
            "previous": link(page.previous_cursor),
            "results": s.MitigationSerializer(page.rows, many=True, context=_context(request)).data,
        }
        headers = {}
        rels = [(data["next"], "next"), (data["previous"], "prev")]
        if any(url for url, _ in rels):
            headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for url, rel in rels if url)
        return Response(data, headers=headers)


class MitigationDetail(CatalogAPIView):
    """One record, whatever its status, with its classifications in every taxonomy."""

    @extend_schema(
        parameters=[PUBLIC_ID],
        responses=responses(s.MitigationSerializer, 301, 404, 410),
        summary="One mitigation",
        operation_id="mitigation_detail",
    )
    def get(self, request, id):
        mitigation = _mitigation_or_error(request, id)
        if id != mitigation.public_id:
            canonical = reverse("api:mitigation-detail", args=[mitigation.public_id])
            return _moved(_absolute(request, canonical))
        return Response(s.MitigationSerializer(mitigation, context=_context(request)).data)


class MitigationHistory(CatalogAPIView):
    """Every change to a record and its classifications, newest first: who, when, why, what."""

    @extend_schema(
        parameters=[PUBLIC_ID],
        responses=responses(s.HistorySerializer, 301, 404, 410),
        summary="A mitigation's history",
        operation_id="mitigation_history",
    )
    def get(self, request, id):
        mitigation = _mitigation_or_error(request, id)
        if id != mitigation.public_id:
            canonical = reverse("api:mitigation-history", args=[mitigation.public_id])
            return _moved(_absolute(request, canonical))
        entries = mitigation_timeline(mitigation)
        return Response(
            s.HistorySerializer(
                {"id": mitigation.public_id, "entries": entries}, context=_context(request)
            ).data
        )


# --------------------------------------------------------------------------- taxonomies


def _taxonomy_or_404(slug: str):
    taxonomy = selectors.taxonomy_get_for_page(slug)
    if taxonomy is None:
        raise NotFoundError("slug", f"No taxonomy {slug}.")
    return taxonomy


class TaxonomyList(CatalogAPIView):
    """The taxonomies and vocabularies a visitor may browse (all but retired ones)."""

    @extend_schema(
        responses=responses(s.TaxonomySerializer(many=True)),
        summary="Taxonomies",
        operation_id="taxonomies_list",
    )
    def get(self, request):
        taxonomies = selectors.taxonomy_list_public()
        return Response(s.TaxonomySerializer(taxonomies, many=True, context=_context(request)).data)


class TaxonomyDetail(CatalogAPIView):
    """One taxonomy (retired ones too)."""

    @extend_schema(
        parameters=[SLUG],
        responses=responses(s.TaxonomySerializer, 404),
        summary="One taxonomy",
        operation_id="taxonomy_detail",
    )
    def get(self, request, slug):
        taxonomy = _taxonomy_or_404(slug)
        return Response(s.TaxonomySerializer(taxonomy, context=_context(request)).data)


class TaxonomyNodes(CatalogAPIView):
    """Every node of a taxonomy, flat, depth-first, with its count of active mitigations."""

    @extend_schema(
        parameters=[SLUG],
        responses=responses(s.TaxonomyNodesSerializer, 404),
        summary="A taxonomy's nodes, flat",
        operation_id="taxonomy_nodes",
    )
    def get(self, request, slug):
        taxonomy = _taxonomy_or_404(slug)
        nodes = selectors.taxonomy_tree_with_counts(taxonomy)
        data = {"taxonomy": taxonomy, "nodes": nodes}
        return Response(s.TaxonomyNodesSerializer(data, context=_context(request)).data)


class TaxonomyTree(CatalogAPIView):
    """A taxonomy's nodes as a tree: the top-level nodes, each with its children."""

    @extend_schema(
        parameters=[SLUG],
        responses=responses(s.TaxonomyTreeSerializer, 404),
        summary="A taxonomy's nodes, as a tree",
        operation_id="taxonomy_tree",
    )
    def get(self, request, slug):
        taxonomy = _taxonomy_or_404(slug)
        nodes = selectors.taxonomy_tree_with_counts(taxonomy)
        data = {"taxonomy": taxonomy, "roots": [node for node in nodes if node.depth == 0]}
        return Response(s.TaxonomyTreeSerializer(data, context=_context(request)).data)


class TaxonomyNodeDetail(CatalogAPIView):
    """One node with its subtree."""

    @extend_schema(
        parameters=[SLUG, NODE_CODE],
        responses=responses(s.NodeTreeSerializer, 404),
        summary="One node of a taxonomy",
        operation_id="taxonomy_node_detail",
    )
    def get(self, request, slug, code):
        taxonomy = _taxonomy_or_404(slug)
        nodes = selectors.taxonomy_tree_with_counts(taxonomy)
        node = next((node for node in nodes if node.code == code), None)
        if node is None:
            raise NotFoundError("code", f"{taxonomy.slug} has no node {code}.")
        return Response(s.NodeTreeSerializer(node, context=_context(request)).data)


# --------------------------------------------------------------------------- sources


class SourceList(CatalogAPIView):
    """Every source document, by short reference."""

    @extend_schema(
        responses=responses(s.SourceSerializer(many=True)),
        summary="Source documents",
        operation_id="sources_list",
    )
    def get(self, request):
        sources = selectors.source_list_with_counts()
        return Response(s.SourceSerializer(sources, many=True, context=_context(request)).data)


class SourceDetail(CatalogAPIView):
    """One source document."""

    @extend_schema(
        parameters=[SHORT_REF],
        responses=responses(s.SourceSerializer, 404),
        summary="One source document",
        operation_id="source_detail",
    )
    def get(self, request, short_ref):
        source = selectors.source_get_with_count(short_ref)
        if source is None:
            raise NotFoundError("short_ref", f"No source document {short_ref}.")
        return Response(s.SourceSerializer(source, context=_context(request)).data)


# --------------------------------------------------------------------------- coverage


def coverage_data(chart: coverage_chart.Chart) -> dict:
    return {
        "rows_taxonomy": chart.rows_taxonomy.slug,
        "columns": next(option.value for option in chart.column_options if option.selected),
        "depth": chart.depth,
        "total": chart.total,
        "column_list": [
            {
                "parameter": column.param[0],
                "value": column.param[1],
                "label": column.label,
                "total": column.total,
            }
            for column in chart.columns
        ],
        "row_list": [
            {
                "code": row.node.code,
                "name": row.node.name,
                "depth": row.node.depth,
                "total": row.total,
                "counts": [cell.count for cell in row.cells],
            }
            for row in chart.rows
        ],
    }


class Coverage(CatalogAPIView):
    """Active mitigations per node of a taxonomy (rows) and per source document or vocabulary
    node (columns), a node counting its whole subtree: the numbers of the coverage chart."""

    schema = CoverageSchema()

    @extend_schema(
        responses=responses(s.CoverageSerializer, 400),
        summary="The coverage matrix",
        operation_id="coverage",
    )
    def get(self, request):
        params = request.query_params
        problems = [
            (name, "An empty value: leave the parameter out instead.")
            for name in ("rows", "by", "depth")
            if params.get(name) == ""
        ]
        rows, by, depth = params.get("rows"), params.get("by"), params.get("depth")
        if depth:
            try:
                level = int(depth)
            except ValueError:
                level = 0
            if not 1 <= level <= COVERAGE_MAX_DEPTH:
                message = f"“{depth}” is not a level: give 1 to {COVERAGE_MAX_DEPTH}."
                problems.append(("depth", message))
            else:
                levels = selectors.taxonomy_levels(rows or coverage_chart.DEFAULT_ROWS)
                depth = str(max(1, min(level, levels)))
        if problems:
            raise ParameterError(problems)
        try:
            chart = coverage_chart.coverage_chart(rows=rows, by=by, depth=depth)
        except coverage_chart.CoverageError as problem:
            # The chart's messages start with the parameter's name: "by: “x” cannot be …".
            parameter, _, message = str(problem).partition(": ")
            raise ParameterError([(parameter, message)]) from None
        return Response(s.CoverageSerializer(coverage_data(chart)).data)
