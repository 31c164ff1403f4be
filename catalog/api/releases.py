"""``/api/v1/releases/``: the data releases (see :mod:`catalog.releases`), list and detail."""

from __future__ import annotations

import itertools

from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.response import Response

from catalog.citations import FORMATS as CITATION_FORMATS
from catalog.releases import selectors

from .errors import NotFoundError
from .schema import responses
from .serializers import Link, absolute
from .views import CatalogAPIView, _context

VERSION = OpenApiParameter(
    "version",
    {"type": "string", "pattern": r"^[0-9][0-9A-Za-z._-]{0,39}$"},
    OpenApiParameter.PATH,
    description="A release's version, e.g. 2026.12.02.",
    examples=[OpenApiExample("A release", value="2026.1")],
)


class ReleaseFileSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="The file's path inside the data package.")
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField()


class ReleaseLinksSerializer(serializers.Serializer):
    self = Link()
    html = Link(help_text="The release's page.")
    package = Link(help_text="The Frictionless data package (zip).")
    workbook = Link(help_text="The workbook (XLSX).")
    changes = Link(
        allow_null=True, help_text="What changed since the release before it (JSON), if any."
    )
    citations = serializers.DictField(child=Link(), help_text="BibTeX, RIS and CSL-JSON.")


class ReleaseSerializer(serializers.Serializer):
    version = serializers.CharField()
    published_at = serializers.DateTimeField()
    notes = serializers.CharField(allow_blank=True)
    licence = serializers.SerializerMethodField()
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Records in all (total), by status, and classifications, documents, "
        "taxonomies and nodes.",
    )
    links = serializers.SerializerMethodField()

    def get_licence(self, release) -> str:
        return "CC-BY-4.0"

    @extend_schema_field(ReleaseLinksSerializer)
    def get_links(self, release) -> dict:
        version = release.version
        previous = self.context.get("previous", {}).get(release.pk)
        changes = None
        if previous:
            path = reverse("releases:changes-download", kwargs={"version": version, "fmt": "json"})
            changes = absolute(self.context, f"{path}?since={previous}")
        return {
            "self": absolute(self.context, reverse("api:release-detail", args=[version])),
            "html": absolute(self.context, release.get_absolute_url()),
            "package": absolute(self.context, reverse("releases:package", args=[version])),
            "workbook": absolute(self.context, reverse("releases:workbook", args=[version])),
            "changes": changes,
            "citations": {
                fmt.name: absolute(self.context, reverse("releases:citation", args=[version, ext]))
                for ext, fmt in CITATION_FORMATS.items()
            },
        }


class ReleaseDetailSerializer(ReleaseSerializer):
    files = serializers.SerializerMethodField()

    def get_files(self, release) -> list[dict]:
        return [
            {"path": path, "bytes": file["bytes"], "sha256": file["sha256"]}
            for path, file in sorted(release.files.items())
        ]


def _previous_versions(releases) -> dict[int, str]:
    """Each release's predecessor's version (``releases`` newest first)."""
    releases = list(releases)
    return {release.pk: older.version for release, older in itertools.pairwise(releases)}


class ReleaseList(CatalogAPIView):
    """Every published release, newest first."""

    @extend_schema(
        responses=responses(ReleaseSerializer(many=True)),
        summary="Data releases",
        operation_id="releases_list",
    )
    def get(self, request):
        releases = list(selectors.release_list_published())
        context = {**_context(request), "previous": _previous_versions(releases)}
        return Response(ReleaseSerializer(releases, many=True, context=context).data)


class ReleaseDetail(CatalogAPIView):
    """One published release, with the sizes and SHA-256 of its package's files."""

    @extend_schema(
        parameters=[VERSION],
        responses=responses(ReleaseDetailSerializer, 404),
        summary="One data release",
        operation_id="release_detail",
    )
    def get(self, request, version):
        release = selectors.release_get_published(version)
        if release is None:
            raise NotFoundError("version", f"No release {version}.")
        previous = selectors.release_previous(release)
        context = {
            **_context(request),
            "previous": {release.pk: previous.version} if previous else {},
        }
        return Response(ReleaseDetailSerializer(release, context=context).data)
