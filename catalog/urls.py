from django.urls import path, register_converter

from . import views


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

urlpatterns = [
    path("", views.home, name="home"),
    path("mitigations/", views.mitigation_list, name="mitigation-list"),
    path(
        "mitigations/download.<export_format:fmt>",
        views.mitigation_export,
        name="mitigation-export",
    ),
    path("mitigations/<public_id:public_id>/", views.mitigation_detail, name="mitigation-detail"),
    path("taxonomies/", views.taxonomy_list, name="taxonomy-list"),
    path("taxonomies/<slug:slug>/", views.taxonomy_detail, name="taxonomy-detail"),
    path("sources/", views.source_list, name="source-list"),
    # A short reference may hold spaces, non-ASCII letters, even a slash: take the whole path.
    path("sources/<path:short_ref>/", views.source_detail, name="source-detail"),
    path("coverage/", views.coverage, name="coverage"),
    path("coverage/download.csv", views.coverage_download, name="coverage-download"),
    path("about/", views.about, name="about"),
]
