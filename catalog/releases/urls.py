from django.urls import path, register_converter

from . import feeds, views

app_name = "releases"


class VersionConverter:
    regex = r"[0-9][0-9A-Za-z._-]{0,39}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class ChangesFormatConverter:
    regex = r"csv|json"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class CiteFormatConverter:
    regex = r"bib|ris|json"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(VersionConverter, "release_version")
register_converter(ChangesFormatConverter, "changes_format")
register_converter(CiteFormatConverter, "release_cite_format")

urlpatterns = [
    path("", views.release_list, name="list"),
    path("new/", views.release_new, name="new"),
    path("feed/", feeds.ReleasesFeed(), name="feed"),
    path("<release_version:version>/", views.release_detail, name="detail"),
    path(
        "<release_version:version>/datapackage.zip",
        views.release_package,
        name="package",
    ),
    path(
        "<release_version:version>/workbook.xlsx",
        views.release_workbook,
        name="workbook",
    ),
    path(
        "<release_version:version>/cite.<release_cite_format:fmt>",
        views.release_citation_download,
        name="citation",
    ),
    path("<release_version:version>/changes/", views.release_changes, name="changes"),
    path(
        "<release_version:version>/changes.<changes_format:fmt>",
        views.release_changes_download,
        name="changes-download",
    ),
]
