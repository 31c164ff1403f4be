"""Cutting a release: the one place releases are written.

:func:`release_start` reserves the version and queues the build as a background job (the
curators' page); :func:`release_build` builds it (the job's task, or the command inline);
:func:`cut_release` does both at once, in this process (``manage.py make_release``).

A build reads the whole catalog in one transaction (on PostgreSQL at REPEATABLE READ, so every
chunk sees the same state even while curators keep working), writes the frozen rows, computes
the digests of the package's files and publishes the release, all or nothing. Publishing bumps
the catalog's version, so cached pages and API answers that list releases are renewed.
A published release is never changed again.
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog import roles, version
from catalog.jobs import job_start

from . import package, snapshot
from .models import Release, ReleaseRecord


def release_default_version(day=None) -> str:
    """``2026.12.02``, or ``2026.12.02.2`` (``.3`` …) when that day already has a release."""
    base = f"{day or timezone.localdate():%Y.%m.%d}"
    taken = set(Release.objects.filter(version__startswith=base).values_list("version", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}.{n}" in taken:
        n += 1
    return f"{base}.{n}"


def _check_actor(actor) -> None:
    if actor is not None and not roles.is_curator(actor):
        raise PermissionDenied("Only curators cut releases.")


def release_create(*, version: str | None = None, notes: str = "", actor) -> Release:
    """Reserve a release (status "being built"), checked: a curator (or the system, for the
    command), a well-formed, unused version, notes within bounds, no other build under way."""
    _check_actor(actor)
    if Release.objects.filter(status=Release.Status.BUILDING).exists():
        raise ValidationError(
            "Another release is being built; wait until it is published (or has failed)."
        )
    release = Release(
        version=(version or "").strip() or release_default_version(),
        notes=(notes or "").strip(),
        created_by=actor,
    )
    if Release.objects.filter(version=release.version).exists():
        raise ValidationError({"version": f"Release {release.version} exists already."})
    release.full_clean()
    try:
        with transaction.atomic():
            release.save()
    except IntegrityError as error:
        raise ValidationError({"version": f"Release {release.version} exists already."}) from error
    return release


def release_start(*, version: str | None = None, notes: str = "", actor) -> tuple[Release, object]:
    """Reserve the release and queue its build; returns the release and its job."""
    from .tasks import build_release

    with transaction.atomic():
        release = release_create(version=version, notes=notes, actor=actor)
        job = job_start(
            task=build_release,
            title=f"Build release {release.version}",
            subject=release.subject,
            actor=actor,
            total=snapshot_total(),
            unit="records",
            next_url=release.get_absolute_url(),
        )
    return release, job


def snapshot_total() -> int:
    from catalog.models import Mitigation

    return Mitigation.objects.count()


def release_build(*, release: Release, progress=None) -> Release:
    """Read the catalog into ``release`` and publish it (see the module's docstring)."""
    release = Release.objects.get(pk=release.pk)
    if release.status == Release.Status.PUBLISHED:
        raise ValidationError(f"Release {release.version} is published; it is never rebuilt.")
    Release.objects.filter(pk=release.pk).update(status=Release.Status.BUILDING, error="")
    outermost = not connection.in_atomic_block
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql" and outermost:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            _build(release, progress)
    except Exception as error:
        Release.objects.filter(pk=release.pk).update(
            status=Release.Status.FAILED, error=str(error)[:5000]
        )
        raise
    return Release.objects.get(pk=release.pk)


def _build(release: Release, progress) -> None:
    ReleaseRecord.objects.filter(release=release).delete()  # what a killed attempt left, if any
    release.catalog_version = version.catalog_version().number
    release.taxonomies = snapshot.taxonomies()
    release.documents = snapshot.documents()
    digests = package.RecordDigests()
    counts = {"total": 0, "active": 0, "retired": 0, "merged": 0, "classifications": 0}
    for chunk in snapshot.records(progress):
        _insert_records(release, chunk)
        for number, data in chunk:
            digests.feed(number, data)
            counts["total"] += 1
            counts[data["status"]] = counts.get(data["status"], 0) + 1
            counts["classifications"] += len(data["classifications"])
    counts["documents"] = len(release.documents)
    counts["taxonomies"] = len(release.taxonomies)
    counts["nodes"] = sum(len(taxonomy["nodes"]) for taxonomy in release.taxonomies)
    release.counts = counts
    release.files = {
        package.MITIGATIONS.path: digests.mitigations.summary,
        package.CLASSIFICATIONS.path: digests.classifications.summary,
        **package.digest_small_tables(release),
    }
    release.status = Release.Status.PUBLISHED
    release.published_at = timezone.now()
    release.error = ""
    release.full_clean()
    release.save()
    version.bump()


def _insert_records(release: Release, chunk: list[tuple[int, dict]]) -> None:
    """One chunk of frozen rows: on PostgreSQL through ``COPY`` (which spares Django building
    and quoting an INSERT of 2,000 JSON values), elsewhere with ``bulk_create``."""
    if connection.vendor != "postgresql":
        ReleaseRecord.objects.bulk_create(
            [ReleaseRecord(release=release, number=number, data=data) for number, data in chunk]
        )
        return
    from psycopg import sql

    statement = sql.SQL("COPY {} (release_id, number, data) FROM STDIN").format(
        sql.Identifier(ReleaseRecord._meta.db_table)
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for number, data in chunk:
            copy.write_row((release.pk, number, json.dumps(data, ensure_ascii=False)))


def cut_release(*, version: str | None = None, notes: str = "", actor=None, progress=None):
    """Reserve and build a release here and now (``manage.py make_release``)."""
    release = release_create(version=version, notes=notes, actor=actor)
    return release_build(release=release, progress=progress)
