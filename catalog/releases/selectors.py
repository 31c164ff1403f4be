"""Every read of releases the pages, feeds, API and downloads need."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from .models import Release, ReleaseRecord

CHUNK_SIZE = 2000


def release_list_published() -> QuerySet[Release]:
    """Published releases, newest first (without their bulky JSON)."""
    return (
        Release.objects.published()
        .defer("taxonomies", "documents", "files")
        .order_by("-published_at", "-id")
    )


def release_get_published(version: str) -> Release | None:
    return Release.objects.published().filter(version=version).first()


def release_latest() -> Release | None:
    return release_list_published().first()


def release_previous(release: Release) -> Release | None:
    """The published release just before ``release``."""
    return (
        release_list_published()
        .filter(published_at__lt=release.published_at)
        .order_by("-published_at", "-id")
        .first()
    )


def release_list_unfinished() -> QuerySet[Release]:
    """Releases being built or whose build failed (for the curators' page)."""
    return (
        Release.objects.exclude(status=Release.Status.PUBLISHED)
        .defer("taxonomies", "documents", "files")
        .select_related("created_by")
        .order_by("-created_at")
    )


def release_record_data(release: Release) -> Iterator[tuple[int, dict]]:
    """``(number, data)`` of every record of ``release`` by number, from one cursor."""
    return (
        ReleaseRecord.objects.filter(release=release)
        .order_by("number")
        .values_list("number", "data")
        .iterator(chunk_size=CHUNK_SIZE)
    )


def release_list_for_record(number: int) -> list[Release]:
    """The published releases that hold the record ``number``, newest first (one query)."""
    return list(
        release_list_published().filter(records__number=number).only("version", "published_at")
    )
