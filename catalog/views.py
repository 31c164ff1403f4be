"""The public pages of the catalog: read-only, GET only, no account needed."""

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views import defaults
from django.views.decorators.http import require_safe

from . import (
    charts,
    citations,
    crosswalk,
    exports,
    feeds,
    filters,
    selectors,
    spreadsheet,
    table_exports,
)
from . import coverage as coverage_chart
from .api import errors as api_errors
from .models import Taxonomy, parse_public_id
from .page_cache import public_page
from .version import cached


@require_safe
@public_page
def home(request):
    return render(request, "catalog/home.html", cached("home", _home_context))


def _home_context() -> dict:
    summaries = selectors.taxonomy_list_top_level_counts()
    main = next((s for s in summaries if s.taxonomy.kind == Taxonomy.Kind.TAXONOMY), None)
    return {
        "summaries": summaries,
        "mitigation_count": selectors.mitigation_count_active(),
        "recent": selectors.mitigation_list_recently_changed(),
        "category_chart": charts.category_chart(
            f"Mitigations per category of {main.taxonomy.name}" if main else "",
            main.top_level if main else [],
        ),
        "year_chart": charts.year_chart(
            "Mitigations per year of their source", selectors.mitigation_counts_by_year()
        ),
    }


@require_safe
@public_page
def about(request):
    return render(
        request,
        "catalog/about.html",
        {
            "taxonomies": cached(
                "public-taxonomies", lambda: list(selectors.taxonomy_list_public())
            ),
            "source_count": cached("source-count", selectors.source_list().count),
            "mitigation_count": cached("active-count", selectors.mitigation_count_active),
            "required_approvals": settings.REVIEW_REQUIRED_APPROVALS,
            "required_by_kind": sorted(settings.REVIEW_REQUIRED_APPROVALS_BY_KIND.items()),
        },
    )


def _render_list(request, browse):
    query = browse.state.query
    api_url = reverse("api:mitigation-list")
    return render(
        request,
        "catalog/mitigation_list.html",
        {
            "browse": browse,
            "sorts": filters.SORTS,
            "page_sizes": filters.PAGE_SIZES,
            "api_url": f"{api_url}?{query}" if query else api_url,
            "feed_url": feeds.changes_feed_url(feeds.feed_params(browse.filterset, request.GET)),
            "default_feed_url": feeds.changes_feed_url(),
        },
        status=200 if browse.is_valid else 400,
    )


def _address_without_empty_params(request) -> str | None:
    """The same address without its empty parameters (``year_min=``), or None if it has none.

    A search form sent without JavaScript carries every field, filled or not; one redirect
    gives the reader an address that says only what they asked for. (With JavaScript,
    static/js/forms.js leaves the empty fields out before sending.)
    """
    params = request.GET.copy()
    if all(value != "" for key in params for value in params.getlist(key)):
        return None
    for key in list(params):
        values = [value for value in params.getlist(key) if value != ""]
        if values:
            params.setlist(key, values)
        else:
            del params[key]
    encoded = params.urlencode()
    return f"{request.path}?{encoded}" if encoded else request.path


@require_safe
@public_page
def mitigation_list(request):
    cleaner = _address_without_empty_params(request)
    if cleaner is not None:
        return redirect(cleaner)
    return _render_list(request, filters.browse(request.GET))


@require_safe
def mitigation_export(request, fmt):
    queryset, errors = filters.filtered_for_export(request.GET)
    if errors:
        return _render_list(request, filters.browse(request.GET))
    stem = f"airm-mitigations-{timezone.now():%Y-%m-%d}"
    return exports.response(queryset, fmt, stem)


@require_safe
@public_page(depends_on="CATALOG_RECORD_PAGE_DEPENDS_ON")
def mitigation_detail(request, public_id):
    number = parse_public_id(public_id)
    mitigation = selectors.mitigation_get_for_page(number) if number else None
    if mitigation is None:
        return _mitigation_gone(request, number, public_id)
    if public_id != mitigation.public_id:
        # MIT's "A0983_Gipiškis2024" or an unpadded "A983": one canonical address per record.
        return redirect(mitigation, permanent=True)
    page = selectors.mitigation_page(mitigation)
    permalink = request.build_absolute_uri(mitigation.get_absolute_url())
    citation = citations.mitigation_citation(
        mitigation, url=permalink, accessed=timezone.localdate()
    )
    return render(
        request,
        "catalog/mitigation_detail.html",
        {
            "mitigation": mitigation,
            "page": page,
            "classifications": page.classifications,
            "permalink": permalink,
            "today": timezone.localdate(),
            "panels": settings.CATALOG_MITIGATION_PANELS,
            "citation_text": citations.plain_text(citation),
            "citation_formats": citations.rendered(
                citation,
                download=lambda fmt: reverse(
                    "catalog:mitigation-citation", args=[mitigation.public_id, fmt]
                ),
                name=mitigation.public_id,
            ),
            "feed_url": feeds.changes_feed_url([("record", mitigation.public_id)]),
        },
    )


@require_safe
def mitigation_citation(request, public_id, fmt):
    """The record's citation as a BibTeX, RIS or CSL-JSON file."""
    number = parse_public_id(public_id)
    mitigation = selectors.mitigation_get_with_source(number) if number else None
    if mitigation is None:
        return _mitigation_gone(request, number, public_id)
    if public_id != mitigation.public_id:
        return redirect(
            "catalog:mitigation-citation", public_id=mitigation.public_id, fmt=fmt, permanent=True
        )
    citation = citations.mitigation_citation(
        mitigation,
        url=request.build_absolute_uri(mitigation.get_absolute_url()),
        accessed=timezone.localdate(),
    )
    return citations.download(citation, fmt, filename=mitigation.public_id)


def _mitigation_gone(request, number, public_id):
    """A public ID whose record was removed (by reverting the import that created it) still
    resolves: 410 Gone, with the record's last version and why it went. Never used: 404."""
    removal = selectors.mitigation_get_removal(number) if number else None
    if removal is None:
        raise Http404(f"No mitigation {public_id}.")
    return render(request, "catalog/mitigation_removed.html", {"removal": removal}, status=410)


@require_safe
@public_page
def taxonomy_list(request):
    return render(
        request,
        "catalog/taxonomy_list.html",
        {"summaries": cached("top-level-counts", selectors.taxonomy_list_top_level_counts)},
    )


@require_safe
@public_page
def taxonomy_detail(request, slug):
    taxonomy = selectors.taxonomy_get_for_page(slug)
    if taxonomy is None:
        raise Http404(f"No taxonomy {slug}.")
    nodes = cached(
        "taxonomy-tree", lambda: selectors.taxonomy_tree_with_counts(taxonomy), parts=(slug,)
    )
    return render(
        request,
        "catalog/taxonomy_detail.html",
        {
            "taxonomy": taxonomy,
            "roots": [node for node in nodes if node.depth == 0],
            "node_total": len(nodes),
            "crosswalk_partners": crosswalk.crosswalk_partners(taxonomy),
        },
    )


def _crosswalk_or_error(request, slug, other):
    """The crosswalk for the request, or (the default one, the message) for a bad level."""
    try:
        return crosswalk.crosswalk(
            slug,
            other,
            depth=request.GET.get("depth"),
            column_depth=request.GET.get("column_depth"),
        ), ""
    except crosswalk.CrosswalkNotFound as problem:
        raise Http404(str(problem)) from problem
    except crosswalk.CrosswalkError as problem:
        return crosswalk.crosswalk(slug, other), str(problem)


def _crosswalk_error_page(request, table, error):
    return render(
        request, "catalog/taxonomy_crosswalk.html", {"crosswalk": table, "error": error}, status=400
    )


@require_safe
def taxonomy_crosswalk(request, slug, other):
    table, error = _crosswalk_or_error(request, slug, other)
    return render(
        request,
        "catalog/taxonomy_crosswalk.html",
        {"crosswalk": table, "error": error},
        status=400 if error else 200,
    )


def _crosswalk_filename(table, extension: str) -> str:
    return (
        f"airm-crosswalk-{table.rows_taxonomy.slug}-{table.columns_taxonomy.slug}-"
        f"{timezone.now():%Y-%m-%d}.{extension}"
    )


@require_safe
def taxonomy_crosswalk_json(request, slug, other):
    table, error = _crosswalk_or_error(request, slug, other)
    if error:
        return _crosswalk_error_page(request, table, error)
    response = JsonResponse(table.as_json(), json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = content_disposition_header(
        True, _crosswalk_filename(table, "json")
    )
    return response


@require_safe
def taxonomy_crosswalk_csv(request, slug, other):
    """The crosswalk as shown (same levels), as CSV; text a spreadsheet would run is made inert."""
    table, error = _crosswalk_or_error(request, slug, other)
    if error:
        return _crosswalk_error_page(request, table, error)
    rows = ([spreadsheet.make_inert(value) for value in row] for row in table.as_table())
    response = StreamingHttpResponse(exports.iter_csv(rows), content_type=exports.FORMATS["csv"])
    response["Content-Disposition"] = content_disposition_header(
        True, _crosswalk_filename(table, "csv")
    )
    return response


@require_safe
def taxonomy_nodes_export(request, fmt):
    """Every node of every taxonomy a visitor may browse."""
    queryset = selectors.taxonomy_node_list_public()
    return table_exports.node_table(queryset).response(fmt)


@require_safe
def taxonomy_export(request, slug, fmt):
    taxonomy = selectors.taxonomy_get_for_page(slug)
    if taxonomy is None:
        raise Http404(f"No taxonomy {slug}.")
    return table_exports.node_table(taxonomy=taxonomy).response(fmt)


@require_safe
def source_export(request, fmt):
    return table_exports.source_table(selectors.source_list()).response(fmt)


@require_safe
@public_page
def source_list(request):
    return render(
        request,
        "catalog/source_list.html",
        {
            "sources": cached(
                "sources-with-counts", lambda: list(selectors.source_list_with_counts())
            )
        },
    )


@require_safe
@public_page
def source_detail(request, short_ref):
    source = selectors.source_get_for_page(short_ref)
    if source is None:
        raise Http404(f"No source document {short_ref}.")
    return render(
        request,
        "catalog/source_detail.html",
        {
            "source": source,
            "source_page": selectors.source_page(source, request.GET.get("page")),
            "list_url": filters.list_url([("source", source.short_ref)]),
            "feed_url": feeds.changes_feed_url([("source", source.short_ref)]),
            "category_chart": charts.category_chart(
                f"{source.short_ref}'s mitigations per category",
                selectors.top_level_counts(selectors.source_mitigations(source)),
                source=source,
            ),
        },
    )


@require_safe
def coverage_download(request):
    """The coverage table as it is shown (same parameters) as a CSV file."""
    try:
        chart = coverage_chart.coverage_chart(
            rows=request.GET.get("rows"), by=request.GET.get("by"), depth=request.GET.get("depth")
        )
    except coverage_chart.CoverageError as problem:
        return render(
            request,
            "catalog/coverage_chart.html",
            {
                "chart": coverage_chart.coverage_chart(rows=None, by=None, depth=None),
                "error": str(problem),
            },
            status=400,
        )
    stem = f"airm-coverage-{chart.rows_taxonomy.slug}-by-{request.GET.get('by') or 'source'}"
    return exports.coverage_response(chart, f"{stem}-{timezone.now():%Y-%m-%d}")


@require_safe
@public_page
def coverage(request):
    error = ""
    params = {name: request.GET.get(name) for name in ("rows", "by", "depth")}
    try:
        chart = cached(
            "coverage",
            lambda: coverage_chart.coverage_chart(**params),
            parts=tuple(sorted(params.items())),
        )
    except coverage_chart.CoverageError as problem:
        error = str(problem)
        chart = cached(
            "coverage", lambda: coverage_chart.coverage_chart(rows=None, by=None, depth=None)
        )
    return render(
        request,
        "catalog/coverage_chart.html",
        {"chart": chart, "error": error},
        status=400 if error else 200,
    )


@require_safe
def robots_txt(request):
    """Crawlers may read every public page; not the admin, accounts, review or downloads."""
    sitemap = request.build_absolute_uri(reverse("catalog:sitemap"))
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        "Disallow: /review/",
        "Disallow: /mitigations/download.",
        "Disallow: /sources/download.",
        "Disallow: /taxonomies/download.",
        "Disallow: /taxonomies/*/download.",
        "Allow: /",
        "",
        f"Sitemap: {sitemap}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def page_not_found(request, exception):
    """404: JSON under ``/api/`` (the API's error shape), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return api_errors.json_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return api_errors.json_server_error()
    return defaults.server_error(request)
