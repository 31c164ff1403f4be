"""The catalog: taxonomies and their nodes, source documents, mitigations, classifications.

Every model here is curated: it carries a full django-simple-history record, and it is written
only through :mod:`catalog.services`. Invariants live in the database first (see the
constraints below and the triggers in migration 0002) and are repeated in ``clean()`` so that
forms can show them as field errors.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from . import limits
from .history import HistoryContextFields
from .limits import length_constraints, text_field

PUBLIC_ID_RE = re.compile(r"^[Aa]([0-9]{1,7})$")
CODE_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def history(**kwargs) -> HistoricalRecords:
    """The one way curated models declare history: reason as text, plus who/why context."""
    return HistoricalRecords(
        bases=[HistoryContextFields],
        history_change_reason_field=models.TextField(blank=True, default=""),
        **kwargs,
    )


def format_public_id(number: int) -> str:
    return f"A{number:04d}"


def parse_public_id(public_id: str) -> int | None:
    """``"A0983"`` → 983; MIT's export form ``"A0983_Gipiškis2024"`` is accepted too.

    The one place a typed public ID is recognised (addresses, search, imports, forms): the
    letter in any case, so ``a0983`` is A0983 too.
    """
    head = (public_id or "").strip().split("_", 1)[0]
    match = PUBLIC_ID_RE.match(head)
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- taxonomies


class TaxonomyQuerySet(models.QuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class TaxonomyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class TaxonomyKind(models.TextChoices):
    TAXONOMY = "taxonomy", "Taxonomy"
    VOCABULARY = "vocabulary", "Vocabulary"


class Taxonomy(models.Model):
    """A classification scheme or controlled vocabulary: a tree of coded nodes."""

    Status = TaxonomyStatus

    Kind = TaxonomyKind

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=50, blank=True)
    description = text_field(limits.DESCRIPTION, blank=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.DRAFT)
    kind = models.CharField(
        max_length=20,
        choices=Kind,
        default=Kind.TAXONOMY,
        help_text="Taxonomies classify what a mitigation is; vocabularies hold the other "
        "dimensions (lifecycle stage, actor, function). Both behave the same way.",
    )
    multi_valued = models.BooleanField(
        default=False,
        help_text="Whether a mitigation may carry several nodes of this taxonomy.",
    )
    order = models.PositiveSmallIntegerField(default=0)

    history = history()
    objects = TaxonomyQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "taxonomies"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TaxonomyStatus.values),
                name="catalog_taxonomy_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=TaxonomyKind.values),
                name="catalog_taxonomy_kind_valid",
            ),
            *length_constraints("catalog_taxonomy", description=limits.DESCRIPTION),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("catalog:taxonomy-detail", kwargs={"slug": self.slug})

    def natural_key(self):
        return (self.slug,)


class TaxonomyNodeQuerySet(models.QuerySet):
    def get_by_natural_key(self, taxonomy_slug, code):
        return self.get(taxonomy__slug=taxonomy_slug, code=code)


class TaxonomyNode(models.Model):
    """One coded node of a taxonomy; any node, not only a leaf, may classify mitigations."""

    taxonomy = models.ForeignKey(Taxonomy, on_delete=models.PROTECT, related_name="nodes")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    code = models.CharField(
        max_length=30,
        validators=[RegexValidator(CODE_RE, "Use letters, digits, '.', '_' or '-'.")],
    )
    name = models.CharField(max_length=200)
    definition = text_field(limits.DEFINITION, blank=True)
    order = models.PositiveIntegerField(default=0)
    is_catch_all = models.BooleanField(
        "catch-all",
        default=False,
        help_text="An 'other' / 'not otherwise categorized' node.",
    )
    # Materialised path of codes from the root, e.g. "/1/1.1/1.1.2/". Derived from the parent
    # chain and maintained by the services; it lets one query select or count a whole subtree.
    path = models.CharField(max_length=500, editable=False, db_index=True)

    history = history(excluded_fields=["path"])
    objects = TaxonomyNodeQuerySet.as_manager()

    class Meta:
        ordering = ["taxonomy__order", "path"]
        constraints = [
            models.UniqueConstraint(
                fields=["taxonomy", "code"], name="catalog_node_unique_code_per_taxonomy"
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("id")), name="catalog_node_not_own_parent"
            ),
            *length_constraints("catalog_node", definition=limits.DEFINITION),
        ]
        indexes = [models.Index(fields=["taxonomy", "path"], name="catalog_node_tax_path")]

    def __str__(self):
        return f"{self.code} {self.name}"

    def natural_key(self):
        return (self.taxonomy.slug, self.code)

    natural_key.dependencies = ["catalog.taxonomy"]

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def depth(self) -> int:
        return max(self.path.count("/") - 2, 0)

    @property
    def ancestor_codes(self) -> list[str]:
        return [code for code in self.path.strip("/").split("/")[:-1] if code]

    def compute_path(self) -> str:
        prefix = self.parent.path if self.parent_id else "/"
        return f"{prefix}{self.code}/"

    def clean(self):
        super().clean()
        if self.parent_id and self.taxonomy_id and self.parent.taxonomy_id != self.taxonomy_id:
            raise ValidationError({"parent": "The parent must belong to the same taxonomy."})
        if self.parent_id and self.pk:
            ancestor = self.parent
            while ancestor is not None:
                if ancestor.pk == self.pk:
                    raise ValidationError({"parent": "A node cannot sit below itself."})
                ancestor = ancestor.parent


# --------------------------------------------------------------------------- sources


class SourceDocumentQuerySet(models.QuerySet):
    def get_by_natural_key(self, short_ref):
        return self.get(short_ref=short_ref)


class DocType(models.TextChoices):
    PREPRINT = "preprint", "Preprint"
    LEGISLATION = "legislation", "Legislation"
    GOVERNMENT = "government", "Other government document"
    NON_GOVERNMENT = "non_government", "Other non-government document"


class SourceDocument(models.Model):
    """A framework, paper or law that states mitigations."""

    DocType = DocType

    short_ref = models.CharField(
        "short reference",
        max_length=100,
        unique=True,
        help_text="The citation key used across the catalog, e.g. Gipiškis2024.",
    )
    document_id = models.PositiveIntegerField(
        "document ID", null=True, blank=True, unique=True, help_text="MIT's document number."
    )
    title = models.CharField(max_length=500)
    first_author = models.CharField(max_length=200, blank=True)
    authors = text_field(limits.AUTHORS, blank=True)
    year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1900), MaxValueValidator(2100)]
    )
    abstract = text_field(limits.ABSTRACT, blank=True)
    description = text_field(limits.DESCRIPTION, blank=True)
    url = models.URLField("URL", max_length=1000, blank=True)
    doi = models.CharField("DOI", max_length=200, blank=True)
    doc_type = models.CharField(
        "type", max_length=20, choices=DocType, default=DocType.NON_GOVERNMENT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = history()
    objects = SourceDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["short_ref"]
        constraints = [
            models.CheckConstraint(
                condition=Q(doc_type__in=DocType.values),
                name="catalog_source_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(year__isnull=True) | Q(year__gte=1900, year__lte=2100),
                name="catalog_source_year_plausible",
            ),
            *length_constraints(
                "catalog_source",
                authors=limits.AUTHORS,
                abstract=limits.ABSTRACT,
                description=limits.DESCRIPTION,
            ),
        ]

    def __str__(self):
        return self.short_ref

    def get_absolute_url(self):
        # short_ref may hold spaces and non-ASCII letters; reverse() percent-encodes them.
        return reverse("catalog:source-detail", kwargs={"short_ref": self.short_ref})

    def natural_key(self):
        return (self.short_ref,)

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else ""


# --------------------------------------------------------------------------- mitigations


class MitigationQuerySet(models.QuerySet):
    def get_by_natural_key(self, public_id):
        return self.get(number=parse_public_id(public_id))

    def active(self):
        return self.filter(status=Mitigation.Status.ACTIVE)

    def by_public_id(self, public_id: str):
        number = parse_public_id(public_id)
        if number is None:
            return self.none()
        return self.filter(number=number)


class MitigationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"
    MERGED = "merged", "Merged"


class Mitigation(models.Model):
    """One action that reduces risk from AI, as stated by one source document."""

    Status = MitigationStatus

    number = models.PositiveIntegerField(
        unique=True,
        validators=[MinValueValidator(1)],
        help_text="The number of the public ID: 983 is A0983. Never reused.",
    )
    name = models.CharField(max_length=500)
    definition = text_field(limits.DEFINITION, blank=True)
    source = models.ForeignKey(SourceDocument, on_delete=models.PROTECT, related_name="mitigations")
    section_path = models.CharField(
        "section in source",
        max_length=500,
        blank=True,
        help_text="The source's own section path, levels joined by ' > '.",
    )
    status = models.CharField(max_length=20, choices=Status, default=Status.ACTIVE)
    status_note = text_field(
        limits.NOTE, blank=True, help_text="Why the record was retired or merged."
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        help_text="The active record that carries this one's content now.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # Full-text search vector, kept current by a database trigger on PostgreSQL (migration
    # 0002); always NULL on SQLite, where search falls back to LIKE.
    search_vector = SearchVectorField(null=True, editable=False)

    history = history(excluded_fields=["search_vector"])
    objects = MitigationQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MitigationStatus.values),
                name="catalog_mitigation_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="catalog_mitigation_number_positive"
            ),
            models.CheckConstraint(
                condition=(Q(status="merged") & Q(merged_into__isnull=False))
                | (~Q(status="merged") & Q(merged_into__isnull=True)),
                name="catalog_mitigation_merged_iff_target",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=F("id")), name="catalog_mitigation_not_merged_into_self"
            ),
            *length_constraints(
                "catalog_mitigation", definition=limits.DEFINITION, status_note=limits.NOTE
            ),
        ]
        indexes = [
            models.Index(fields=["status", "number"], name="catalog_mit_status_number"),
            # A record's siblings: the active records of its section in public-ID order, read
            # straight from the index whatever the size of the catalog or of the section.
            models.Index(
                fields=["source", "section_path", "status", "number"],
                name="catalog_mit_section_siblings",
            ),
            # Covering: the list's facets and counts read status, source and id from the index
            # alone (an index-only scan) instead of the wide rows with definitions and vectors.
            models.Index(fields=["status", "source", "id"], name="catalog_mit_status_source"),
        ]

    def __str__(self):
        return f"{self.public_id} {self.name}"

    def get_absolute_url(self):
        return reverse("catalog:mitigation-detail", kwargs={"public_id": self.public_id})

    def natural_key(self):
        return (self.public_id,)

    @property
    def public_id(self) -> str:
        return format_public_id(self.number) if self.number else ""

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def section_parts(self) -> list[str]:
        return [part.strip() for part in self.section_path.split(">") if part.strip()]

    def clean(self):
        super().clean()
        if self.status == self.Status.MERGED:
            if self.merged_into_id is None:
                raise ValidationError({"merged_into": "A merged record must name its target."})
            if self.merged_into_id == self.pk:
                raise ValidationError({"merged_into": "A record cannot be merged into itself."})
            if self.merged_into.status != self.Status.ACTIVE:
                raise ValidationError(
                    {"merged_into": f"{self.merged_into.public_id} is not active."}
                )
        elif self.merged_into_id is not None:
            raise ValidationError({"merged_into": "Only a merged record names a target."})


class Classification(models.Model):
    """A mitigation placed at one node of one taxonomy, with an optional one-line reasoning."""

    mitigation = models.ForeignKey(
        Mitigation, on_delete=models.PROTECT, related_name="classifications"
    )
    taxonomy = models.ForeignKey(Taxonomy, on_delete=models.PROTECT, related_name="classifications")
    node = models.ForeignKey(TaxonomyNode, on_delete=models.PROTECT, related_name="classifications")
    reasoning = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = history()

    class Meta:
        ordering = ["taxonomy__order", "node__path"]
        constraints = [
            models.UniqueConstraint(
                fields=["mitigation", "node"], name="catalog_classification_unique_node"
            ),
        ]
        indexes = [
            models.Index(fields=["node", "mitigation"], name="catalog_cls_node_mit"),
            models.Index(fields=["taxonomy", "mitigation"], name="catalog_cls_tax_mit"),
            # Covering: facet counts per node of a taxonomy come from the index alone.
            models.Index(
                fields=["taxonomy", "mitigation", "node"], name="catalog_cls_tax_mit_node"
            ),
        ]

    def __str__(self):
        return f"{self.mitigation_id} → {self.node}"

    def clean(self):
        super().clean()
        if self.node_id and self.taxonomy_id and self.node.taxonomy_id != self.taxonomy_id:
            raise ValidationError({"node": "The node is not in the classification's taxonomy."})
        if self.taxonomy_id and self.mitigation_id and not self.taxonomy.multi_valued:
            others = Classification.objects.filter(
                mitigation_id=self.mitigation_id, taxonomy_id=self.taxonomy_id
            ).exclude(pk=self.pk)
            if others.exists():
                raise ValidationError(
                    {"node": f"{self.taxonomy.name} allows one node per mitigation."}
                )


# --------------------------------------------------------------------------- imports


class ImportKind(models.TextChoices):
    MITIGATIONS = "mitigations", "Mitigations"
    DOCUMENTS = "documents", "Source documents"
    NODES = "nodes", "Taxonomy nodes"


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", "Previewed, awaiting confirmation"
    APPLYING = "applying", "Confirmed, being applied"
    APPLIED = "applied", "Applied"
    REVERTED = "reverted", "Reverted"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class RowAction(models.TextChoices):
    NEW = "new", "New"
    CHANGED = "changed", "Changed"
    UNCHANGED = "unchanged", "Unchanged"
    ERROR = "error", "Error"


# The order in which a preview shows its rows: what needs attention first.
PREVIEW_ORDER = (RowAction.ERROR, RowAction.CHANGED, RowAction.NEW, RowAction.UNCHANGED)


class SpreadsheetUpload(models.Model):
    """What every uploaded spreadsheet records (abstract): the file, what the import pipeline
    made of it (counts, problems, a summary, the fingerprint of its per-row plan, whose rows
    are a :class:`PreviewRow` subclass under ``rows``) and, while it awaits confirmation, the
    name of the file in the "uploads" storage. An admin's :class:`ImportBatch` and a
    contributor's ``review.ProposalUpload`` are two purposes of it
    (:mod:`catalog.imports.preview` records and shows both)."""

    # Each concrete upload's rows: the related manager of its PreviewRow subclass's foreign key
    # (declared for mypy; abstract models have no reverse relations of their own).
    rows: Any

    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255)
    checksum = models.CharField("SHA-256", max_length=64, blank=True)
    size = models.PositiveBigIntegerField("size (bytes)", default=0)
    file_format = models.CharField("format", max_length=10, blank=True)
    layout = models.CharField(max_length=40, blank=True)
    layout_title = models.CharField(max_length=200, blank=True)
    rows_total = models.PositiveIntegerField("rows", default=0)
    rows_new = models.PositiveIntegerField("new", default=0)
    rows_changed = models.PositiveIntegerField("changed", default=0)
    rows_unchanged = models.PositiveIntegerField("unchanged", default=0)
    rows_error = models.PositiveIntegerField("errors", default=0)
    problems = models.JSONField(
        default=list, blank=True, help_text="Problems with the file as a whole."
    )
    notices = models.JSONField(default=list, blank=True, help_text="E.g. columns ignored.")
    summary = models.JSONField(
        default=dict, blank=True, help_text="Changed columns and error messages, with counts."
    )
    fingerprint = models.CharField(
        max_length=64, blank=True, help_text="Digest of the previewed plan, checked on confirm."
    )
    # The file's name in the "uploads" storage while it awaits confirmation; empty once the
    # upload was deleted.
    stored_file = models.CharField(max_length=100, blank=True, editable=False)
    note = text_field(limits.NOTE, blank=True, help_text="Why it failed, or what became of it.")

    class Meta:
        abstract = True

    def row_counts(self) -> dict[str, int]:
        """Rows by outcome, in the order a preview shows them."""
        counts = {
            RowAction.ERROR: self.rows_error,
            RowAction.CHANGED: self.rows_changed,
            RowAction.NEW: self.rows_new,
            RowAction.UNCHANGED: self.rows_unchanged,
        }
        return {action: counts[action] for action in PREVIEW_ORDER}


class PreviewRow(models.Model):
    """One row of an upload's preview (abstract): what it would do, with old and new values,
    or its errors. Subclasses add the foreign key to their upload, ``related_name="rows"``."""

    Action = RowAction

    row = models.PositiveIntegerField()
    key = models.CharField(max_length=200, blank=True)
    # Whether the file gave the key (a row without an ID gets the next free public ID).
    key_given = models.BooleanField(default=True)
    label = models.CharField(max_length=500, blank=True)
    action = models.CharField(max_length=10, choices=RowAction)
    # [[column, old, new], ...] and [[column, message], ...]
    changes = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"row {self.row}: {self.action}"


class ImportBatch(SpreadsheetUpload):
    """One spreadsheet import: who uploaded what, what it would change, and what became of it.

    Not curated itself (it is the record of a curation step): the changes it made are the
    history rows whose ``history_ref`` is :attr:`ref`, which is also how a batch is reverted.
    """

    Kind = ImportKind
    Status = ImportStatus

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind)
    status = models.CharField(max_length=20, choices=Status, default=Status.PREVIEWED)
    applied_at = models.DateTimeField(null=True, blank=True)
    reverted_at = models.DateTimeField(null=True, blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "import batch"
        verbose_name_plural = "import batches"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="catalog_import_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ImportKind.values), name="catalog_import_kind_valid"
            ),
            *length_constraints("catalog_import", note=limits.NOTE),
        ]

    def __str__(self):
        return f"Batch {self.pk}: {self.file_name}"

    @property
    def ref(self) -> str:
        """The ``history_ref`` of every history row this batch wrote."""
        return f"import-batch:{self.pk}"

    @property
    def revert_ref(self) -> str:
        return f"import-batch-revert:{self.pk}"

    @property
    def reason(self) -> str:
        """The change reason of every history row this batch wrote."""
        return f"Import of {self.file_name} (batch {self.pk})"

    @property
    def can_be_confirmed(self) -> bool:
        return self.status == ImportStatus.PREVIEWED and not self.rows_error and not self.problems


class ImportRow(PreviewRow):
    """One row of a previewed import batch."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows")

    class Meta:
        ordering = ["batch", "row"]
        indexes = [
            models.Index(fields=["batch", "action", "row"], name="catalog_importrow_action"),
        ]


# --------------------------------------------------------------------------- background work


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Job(models.Model):
    """One piece of long work done in the background (an import applied, an upload proposed,
    a batch decided), as the person who started it follows it: how far it got, then its
    report, or why it failed. Changed only by :mod:`catalog.jobs`.

    The work itself runs as a Django task (``task_path``, by django-tasks-db's worker) with
    this job's id; ``subject`` names what it works on (``import-batch:3``), so that a page can
    find the job of its object. A failed job can be retried: the work is atomic, so a failure
    (or a worker killed mid-way) left nothing half-written.
    """

    Status = JobStatus

    title = models.CharField(max_length=200)
    subject = models.CharField(max_length=100, db_index=True)
    task_path = models.CharField(max_length=200)
    task_id = models.CharField(max_length=64, blank=True)
    params = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=JobStatus, default=JobStatus.QUEUED)
    unit = models.CharField(max_length=20, default="rows")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # "host:pid" of the worker process running it, to tell a dead worker from a busy one.
    worker = models.CharField(max_length=200, blank=True)
    # The final report: {"lines": [[level, text], ...], "url": where to go next}.
    result = models.JSONField(default=dict, blank=True)
    error = text_field(limits.NOTE, blank=True, help_text="Why the last attempt failed.")
    next_url = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="catalog_job_status_valid"
            ),
            *length_constraints("catalog_job", error=limits.NOTE),
        ]

    def __str__(self):
        return f"Job {self.pk}: {self.title}"

    def get_absolute_url(self):
        return reverse("catalog:job-detail", kwargs={"pk": self.pk})

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0


class StoredUpload(models.Model):
    """A file of the "uploads" storage kept in the database itself (``UPLOADS_STORAGE=database``,
    :class:`catalog.imports.uploads.DatabaseStorage`): app servers then share uploads awaiting
    confirmation through the database alone, without a shared disk or a bucket."""

    name = models.CharField(max_length=100, unique=True)
    content = models.BinaryField()
    size = models.PositiveBigIntegerField(default=0)
    modified_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name


# --------------------------------------------------------------------------- the version


class CatalogVersion(models.Model):
    """The one row that changes with every write to the catalog (see :mod:`catalog.version`).

    Updated inside each write's own transaction, so it commits (or rolls back) with the data:
    whatever the cache holds, the database always says which state of the catalog is current.
    ``token`` is drawn at random on every change, so a number that comes back (a rolled-back
    write, a restored backup) never names an older state as current.
    """

    number = models.PositiveBigIntegerField(default=0)
    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="catalog_version_single_row"),
        ]

    def __str__(self):
        return f"catalog version {self.number}"


class NodeTally(models.Model):
    """How many mitigations of one source and one status sit at a node or below it, each
    counted once; node 0 stands for the whole catalog (see :mod:`catalog.tallies`).

    Kept by the writes themselves (triggers note what changed, every write folds it in before
    it commits), so the counts the public pages show need not count the catalog.
    """

    node_id = models.BigIntegerField()  # 0: every mitigation
    source_id = models.BigIntegerField()
    status = models.CharField(max_length=20)
    total = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["node_id", "source_id", "status"], name="catalog_nodetally_key"
            )
        ]

    def __str__(self):
        return f"node {self.node_id} / source {self.source_id} / {self.status}: {self.total}"


class TallyMember(models.Model):
    """One row of what a mitigation adds to the tallies: a node it sits at or below (or 0),
    with the source and status it had when folded in, so that a later fold can take exactly
    that back out."""

    mitigation_id = models.BigIntegerField(db_index=True)
    node_id = models.BigIntegerField()
    source_id = models.BigIntegerField()
    status = models.CharField(max_length=20)

    def __str__(self):
        return f"mitigation {self.mitigation_id} at node {self.node_id}"


class TallyChange(models.Model):
    """A mitigation whose contribution to the tallies may have changed since the last fold:
    written by triggers on mitigations, classifications and nodes; emptied by each fold."""

    mitigation_id = models.BigIntegerField()

    def __str__(self):
        return f"change to mitigation {self.mitigation_id}"


class TallyClaim(models.Model):
    """The mitigations one fold is working on (empty outside a fold)."""

    mitigation_id = models.BigIntegerField(primary_key=True)

    def __str__(self):
        return f"mitigation {self.mitigation_id}, being folded"


class FullTextColumn(models.TextField):
    """A column of SQLite's FTS5 index; ``<column>__fts_match=query`` runs a full-text query
    on the whole index row (see :mod:`catalog.search`)."""


@FullTextColumn.register_lookup
class FullTextMatch(models.Lookup):
    lookup_name = "fts_match"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)  # "<alias>"."<column>"
        rhs, rhs_params = self.process_rhs(compiler, connection)
        table = lhs.rsplit(".", 1)[0]
        hidden = connection.ops.quote_name(MitigationSearchIndex._meta.db_table)
        return f"{table}.{hidden} MATCH {rhs}", [*lhs_params, *rhs_params]


class MitigationSearchIndex(models.Model):
    """SQLite only: the FTS5 index of mitigations (migration 0012), a virtual table the
    database keeps by triggers. Read by :mod:`catalog.search` to join matches to records;
    never written (``managed = False``: Django creates nothing for it)."""

    mitigation = models.OneToOneField(
        Mitigation,
        primary_key=True,
        db_column="rowid",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="search_index",
    )
    name = FullTextColumn()
    section_path = FullTextColumn()
    definition = FullTextColumn()

    class Meta:
        managed = False
        db_table = "catalog_mitigation_fts"

    def __str__(self):
        return f"Search index of {self.mitigation_id}"
