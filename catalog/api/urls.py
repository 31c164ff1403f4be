"""``/api/v1/``: every endpoint of the read API. Mounted under ``api/v1/`` with the
namespace ``api`` (so ``reverse("api:mitigation-list")``)."""

from django.urls import path
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.negotiation import DefaultContentNegotiation

import catalog.releases.urls
import catalog.urls  # noqa: F401 - registers the public_id converter

from . import releases, views

app_name = "api"


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema: JSON, or YAML for ``Accept: application/vnd.oai.openapi``."""

    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]
    content_negotiation_class = DefaultContentNegotiation


urlpatterns = [
    path("", views.Root.as_view(), name="root"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", views.DocsPage.as_view(template_name="api/docs.html"), name="docs"),
    path("redoc/", views.DocsPage.as_view(template_name="api/redoc.html"), name="redoc"),
    path("mitigations/", views.MitigationList.as_view(), name="mitigation-list"),
    path("mitigations/<public_id:id>/", views.MitigationDetail.as_view(), name="mitigation-detail"),
    path(
        "mitigations/<public_id:id>/history/",
        views.MitigationHistory.as_view(),
        name="mitigation-history",
    ),
    path("taxonomies/", views.TaxonomyList.as_view(), name="taxonomy-list"),
    path("taxonomies/<slug:slug>/", views.TaxonomyDetail.as_view(), name="taxonomy-detail"),
    path("taxonomies/<slug:slug>/nodes/", views.TaxonomyNodes.as_view(), name="taxonomy-nodes"),
    path(
        "taxonomies/<slug:slug>/nodes/<str:code>/",
        views.TaxonomyNodeDetail.as_view(),
        name="taxonomy-node",
    ),
    path("taxonomies/<slug:slug>/tree/", views.TaxonomyTree.as_view(), name="taxonomy-tree"),
    path("sources/", views.SourceList.as_view(), name="source-list"),
    # A short reference may hold spaces, non-ASCII letters, even a slash: take the whole path.
    path("sources/<path:short_ref>/", views.SourceDetail.as_view(), name="source-detail"),
    path("coverage/", views.Coverage.as_view(), name="coverage"),
    path("releases/", releases.ReleaseList.as_view(), name="release-list"),
    path(
        "releases/<release_version:version>/",
        releases.ReleaseDetail.as_view(),
        name="release-detail",
    ),
]
