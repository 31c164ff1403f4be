from django.contrib.sitemaps import views as sitemap_views
from django.urls import path, register_converter

from . import feeds, views
from .jobs import views as job_views
from .sitemaps import SITEMAPS


class PublicIdConverter:
    """``A0983``: the letter A (in any case) and a number; the view redirects every other form
    (``a0983``, ``A983``, MIT's ``A0983_Ref``) to the canonical address."""

    regex = r"[Aa][0-9]{1,7}(?:_[^/]+)?"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(PublicIdConverter, "public_id")

app_name = "catalog"


class ExportFormatConverter:
    regex = r"csv|xlsx|json"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ExportFormatConverter, "export_format")


class CitationFormatConverter:
    regex = r"bib|ris|json"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(CitationFormatConverter, "citation_format")

urlpatterns = [
    path("", views.home, name="home"),
    path("mitigations/", views.mitigation_list, name="mitigation-list"),
    path(
        "mitigations/download.<export_format:fmt>",
        views.mitigation_export,
        name="mitigation-export",
    ),
    path("mitigations/<public_id:public_id>/", views.mitigation_detail, name="mitigation-detail"),
    path(
        "mitigations/<public_id:public_id>/cite.<citation_format:fmt>",
        views.mitigation_citation,
        name="mitigation-citation",
    ),
    path("taxonomies/", views.taxonomy_list, name="taxonomy-list"),
    path(
        "taxonomies/download.<export_format:fmt>",
        views.taxonomy_nodes_export,
        name="taxonomy-nodes-export",
    ),
    path("taxonomies/<slug:slug>/", views.taxonomy_detail, name="taxonomy-detail"),
    path(
        "taxonomies/<slug:slug>/download.<export_format:fmt>",
        views.taxonomy_export,
        name="taxonomy-export",
    ),
    path(
        "taxonomies/<slug:slug>/crosswalk/<slug:other>/",
        views.taxonomy_crosswalk,
        name="taxonomy-crosswalk",
    ),
    path(
        "taxonomies/<slug:slug>/crosswalk/<slug:other>/download.json",
        views.taxonomy_crosswalk_json,
        name="taxonomy-crosswalk-json",
    ),
    path(
        "taxonomies/<slug:slug>/crosswalk/<slug:other>/download.csv",
        views.taxonomy_crosswalk_csv,
        name="taxonomy-crosswalk-csv",
    ),
    path("sources/", views.source_list, name="source-list"),
    path("sources/download.<export_format:fmt>", views.source_export, name="source-export"),
    # A short reference may hold spaces, non-ASCII letters, even a slash: take the whole path.
    path("sources/<path:short_ref>/", views.source_detail, name="source-detail"),
    path("coverage/", views.coverage, name="coverage"),
    path("jobs/<int:pk>/", job_views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/progress/", job_views.job_progress, name="job-progress"),
    path("jobs/<int:pk>/retry/", job_views.job_retry_view, name="job-retry"),
    path("coverage/download.csv", views.coverage_download, name="coverage-download"),
    path("about/", views.about, name="about"),
    path("feed/", feeds.ChangesFeed(), name="feed-changes"),
    path(
        "sitemap.xml",
        sitemap_views.index,
        {"sitemaps": SITEMAPS, "sitemap_url_name": "catalog:sitemap-section"},
        name="sitemap",
    ),
    path(
        "sitemap-<slug:section>.xml",
        sitemap_views.sitemap,
        {"sitemaps": SITEMAPS},
        name="sitemap-section",
    ),
    path("robots.txt", views.robots_txt, name="robots"),
]
