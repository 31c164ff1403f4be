"""Data releases: frozen, never rewritten snapshots of the whole catalog.

How a snapshot is stored, and why: one :class:`ReleaseRecord` row per mitigation (every
status: active, retired and merged), holding the record as it was in one JSON value with its
classifications in every taxonomy as ``[taxonomy slug, node code, reasoning]`` triples; the
source documents and the taxonomies with their nodes (a few hundred rows at most) are JSON
values of the :class:`Release` itself. So:

- a snapshot stands alone: it names nodes and documents by their codes and short references,
  never by the ids of live rows that may change or go later;
- the diff of two releases is a merge of two index-ordered scans ``(release, number)``, and
  "which releases hold A0983" one index lookup ``(number, release)``;
- 100,000 records are 100,000 narrow rows, written in batches while the catalog is read once,
  instead of one huge value or a file that would need a shared disk or bucket between app
  servers.

The downloads (the Frictionless data package, the workbook) are rendered from these rows,
deterministically; the SHA-256 and size of every file of the package are computed while the
release is built and kept in :attr:`Release.files`, and a download that would not render to
exactly those bytes is refused (:mod:`catalog.releases.package`). Published releases are never
changed: the services only ever create them, and nothing else writes these tables.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from catalog import limits
from catalog.limits import length_constraints, text_field
from catalog.models import format_public_id

VERSION_RE = r"^[0-9][0-9A-Za-z._-]{0,39}$"
VERSION_HELP = "Starts with a digit; then letters, digits, '.', '_' or '-' (at most 40)."


class ReleaseStatus(models.TextChoices):
    BUILDING = "building", "Being built"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"


class ReleaseQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=ReleaseStatus.PUBLISHED)


class Release(models.Model):
    """One citable version of the catalog."""

    Status = ReleaseStatus

    version = models.CharField(
        max_length=40,
        unique=True,
        validators=[RegexValidator(VERSION_RE, VERSION_HELP)],
        help_text="e.g. 2026.12.02 (the date, by default); a second release that day 2026.12.02.2",
    )
    notes = text_field(limits.NOTE, blank=True, help_text="What this release is, for readers.")
    status = models.CharField(max_length=20, choices=ReleaseStatus, default=ReleaseStatus.BUILDING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The catalog's version number (catalog.version) the snapshot was read at.
    catalog_version = models.PositiveBigIntegerField(default=0)
    # {"total": n, "active": n, "retired": n, "merged": n, "classifications": n, ...}
    counts = models.JSONField(default=dict, blank=True)
    # Every file of the data package: {"mitigations.csv": {"bytes": n, "sha256": "…"}, …}
    files = models.JSONField(default=dict, blank=True)
    # The taxonomies with their nodes, and the source documents, as they were.
    taxonomies = models.JSONField(default=list, blank=True)
    documents = models.JSONField(default=list, blank=True)
    error = text_field(limits.NOTE, blank=True, help_text="Why the last build failed.")

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ReleaseStatus.values), name="releases_release_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(version__regex=VERSION_RE), name="releases_release_version_format"
            ),
            models.CheckConstraint(
                condition=Q(status="published", published_at__isnull=False)
                | (~Q(status="published") & Q(published_at__isnull=True)),
                name="releases_release_published_iff_date",
            ),
            *length_constraints("releases_release", notes=limits.NOTE, error=limits.NOTE),
        ]

    def __str__(self):
        return f"Release {self.version}"

    def get_absolute_url(self):
        return reverse("releases:detail", kwargs={"version": self.version})

    @property
    def is_published(self) -> bool:
        return self.status == ReleaseStatus.PUBLISHED

    @property
    def subject(self) -> str:
        """What its build job works on (``catalog.models.Job.subject``)."""
        return f"release:{self.pk}"


class ReleaseRecord(models.Model):
    """One mitigation as it was in one release (see the module's docstring for ``data``)."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="records")
    number = models.PositiveIntegerField()
    data = models.JSONField()

    class Meta:
        ordering = ["release", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "number"], name="releases_record_unique_per_release"
            ),
        ]
        indexes = [models.Index(fields=["number", "release"], name="releases_record_number")]

    def __str__(self):
        return f"{format_public_id(self.number)} in release {self.release_id}"
