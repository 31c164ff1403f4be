"""Proposals: every change to the catalog as a reviewable request, with its append-only log.

A :class:`Proposal` carries one change of one kind (a new mitigation, an edit of fields, a
reclassification in one taxonomy, a retirement, a merge), the values of the fields it touches as
they were when it was made (``base``, for conflict detection), and its state. Every transition
writes a :class:`ProposalEvent`; events are never changed or deleted (a database trigger refuses
updates, and the ORM refuses deletes). Proposals change only through :mod:`review.workflow`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from catalog import limits
from catalog.limits import length_constraints, text_field
from catalog.models import Mitigation, PreviewRow, SourceDocument, SpreadsheetUpload, Taxonomy


class ProposalKind(models.TextChoices):
    NEW = "new", "New mitigation"
    EDIT = "edit", "Edit"
    RECLASSIFY = "reclassify", "Reclassification"
    RETIRE = "retire", "Retirement"
    MERGE = "merge", "Merge"
    NEW_SOURCE = "new_source", "New source document"


class ProposalState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    RESUBMITTED = "resubmitted", "Resubmitted"
    APPROVED = "approved", "Approved and applied"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


# Awaiting a curator's decision.
IN_REVIEW = (ProposalState.SUBMITTED, ProposalState.RESUBMITTED)
# Not decided yet: still able to change what it proposes or to be decided.
OPEN = (ProposalState.DRAFT, *IN_REVIEW, ProposalState.CHANGES_REQUESTED)
# What the curators' queue lists: everything submitted and not yet decided.
QUEUE = (*IN_REVIEW, ProposalState.CHANGES_REQUESTED)
DECIDED = (ProposalState.APPROVED, ProposalState.REJECTED, ProposalState.WITHDRAWN)


class ProposalBatch(models.Model):
    """A group of proposals made together: one per new or changed row of a contributor's
    spreadsheet (see :mod:`review.bulk`).

    Each proposal in a batch is a proposal like any other, decided on its own page; curators
    may also decide all of a batch's proposals awaiting review at once
    (:func:`review.workflow.proposal_batch_approve` and its siblings), which applies the usual
    rules to each of them.
    """

    title = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposal_batches"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rationale = text_field(
        limits.NOTE,
        blank=True,
        help_text="The contributor's note, copied to each proposal of the batch.",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "proposal batches"
        constraints = length_constraints("review_batch", rationale=limits.NOTE)

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("review:batch-detail", kwargs={"pk": self.pk})


class Proposal(models.Model):
    Kind = ProposalKind
    State = ProposalState

    kind = models.CharField(max_length=20, choices=ProposalKind)
    state = models.CharField(max_length=20, choices=ProposalState, default=ProposalState.DRAFT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals"
    )
    # The record the proposal changes; for a new mitigation, the record it created once applied.
    mitigation = models.ForeignKey(
        Mitigation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals",
    )
    # For a new source document: the document it created once applied.
    source_document = models.ForeignKey(
        SourceDocument,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals",
    )
    # The taxonomy a reclassification is in (the queue filters on it).
    taxonomy = models.ForeignKey(
        Taxonomy, on_delete=models.PROTECT, null=True, blank=True, related_name="proposals"
    )
    batch = models.ForeignKey(
        ProposalBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals",
    )
    # The row of the batch's spreadsheet the proposal was made from.
    batch_row = models.PositiveIntegerField(null=True, blank=True)
    # What is proposed, in stored form (primary keys for relations); see review.changes.
    changes = models.JSONField(default=dict, blank=True)
    # The touched fields' values when the proposal was made or last updated by its author.
    base = models.JSONField(default=dict, blank=True)
    rationale = text_field(limits.NOTE, help_text="Why this change should be made.")
    source_quote = text_field(
        limits.NOTE,
        "quoted passage of the source",
        blank=True,
        help_text="Optional: the words of the source that support the change.",
    )
    # Incremented each time the author resubmits: approvals count for one revision only.
    revision = models.PositiveIntegerField(default=1)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claimed_proposals",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    decision_note = text_field(limits.NOTE, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="decided_proposals",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="First submission: the queue's age."
    )

    class Meta:
        ordering = ["-created_at"]
        # The review rules ask for these, never for is_staff (see catalog/roles.py).
        permissions = [
            ("decide_proposal", "Can review and decide others' proposals (curators)"),
            (
                "oversee_proposals",
                "Can see every draft and upload and release any claim (admins)",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ProposalKind.values), name="review_proposal_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=ProposalState.values), name="review_proposal_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["new", "new_source"]) | Q(mitigation__isnull=False),
                name="review_proposal_target_required",
            ),
            models.CheckConstraint(
                condition=~Q(kind="reclassify") | Q(taxonomy__isnull=False),
                name="review_proposal_reclassify_has_taxonomy",
            ),
            models.CheckConstraint(
                condition=Q(state="draft") | Q(submitted_at__isnull=False),
                name="review_proposal_submitted_has_date",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["approved", "rejected"]) | Q(decided_by__isnull=True),
                name="review_proposal_only_decided_has_decider",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["submitted", "resubmitted"]) | Q(claimed_by__isnull=True),
                name="review_proposal_claim_only_in_review",
            ),
            *length_constraints(
                "review_proposal",
                rationale=limits.NOTE,
                source_quote=limits.NOTE,
                decision_note=limits.NOTE,
            ),
        ]
        indexes = [
            models.Index(fields=["state", "submitted_at"], name="review_prop_state_age"),
            models.Index(fields=["mitigation", "state"], name="review_prop_mit_state"),
            models.Index(fields=["author", "state"], name="review_prop_author_state"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()}"

    def get_absolute_url(self):
        return reverse("review:proposal-detail", kwargs={"pk": self.pk})

    @property
    def is_open(self) -> bool:
        return self.state in OPEN

    @property
    def in_review(self) -> bool:
        return self.state in IN_REVIEW

    @property
    def title(self) -> str:
        if self.kind == ProposalKind.NEW:
            return f"New mitigation: {self.changes.get('name', '')}"
        if self.kind == ProposalKind.NEW_SOURCE:
            return (
                f"New source document: {self.changes.get('short_ref', '')} "
                f"({self.changes.get('title', '')})"
            )
        target = self.mitigation.public_id if self.mitigation_id else "?"
        if self.kind == ProposalKind.RECLASSIFY and self.taxonomy_id:
            return f"Reclassify {target} in {self.taxonomy.name}"
        return f"{self.get_kind_display()} of {target}"


class ProposalEventAction(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    SUBMITTED = "submitted", "Submitted"
    RESUBMITTED = "resubmitted", "Resubmitted"
    WITHDRAWN = "withdrawn", "Withdrawn"
    APPROVED = "approved", "Approved"
    APPLIED = "applied", "Applied to the catalog"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    REJECTED = "rejected", "Rejected"
    SENT_BACK = "sent_back", "Sent back: the record changed"
    CLAIMED = "claimed", "Claimed"
    RELEASED = "released", "Released"


class ProposalEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The proposal event log is append-only.")

    def delete(self):
        raise TypeError("The proposal event log is append-only.")


class ProposalEvent(models.Model):
    """One transition of a proposal: who, when, from which state to which, with what note."""

    Action = ProposalEventAction

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=30, choices=ProposalEventAction)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposal_events",
    )
    from_state = models.CharField(max_length=20, choices=ProposalState, blank=True)
    to_state = models.CharField(max_length=20, choices=ProposalState)
    revision = models.PositiveIntegerField()
    note = text_field(limits.NOTE, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ProposalEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=ProposalEventAction.values),
                name="review_event_action_valid",
            ),
            *length_constraints("review_event", note=limits.NOTE),
        ]

    def __str__(self):
        return f"{self.proposal_id}: {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The proposal event log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The proposal event log is append-only.")


class ProposalApproval(models.Model):
    """A curator's approval of one revision; enough distinct ones apply the proposal."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="approvals")
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposal_approvals"
    )
    revision = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "curator", "revision"], name="review_approval_once_per_revision"
            ),
        ]

    def __str__(self):
        return f"{self.proposal_id} approved by {self.curator_id} (revision {self.revision})"


class Comment(models.Model):
    """A message in a proposal's discussion, by its author or a curator."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposal_comments"
    )
    body = text_field(limits.COMMENT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = length_constraints("review_comment", body=limits.COMMENT)

    def __str__(self):
        return f"Comment {self.pk} on {self.proposal_id}"


class Profile(models.Model):
    """A person's notification preferences (their display name is the user's full name)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_profile"
    )
    email_on_submission = models.BooleanField(
        "email me when a proposal is submitted for review",
        default=True,
        help_text="Curators only.",
    )
    email_on_my_proposals = models.BooleanField(
        "email me about my proposals",
        default=True,
        help_text="Decisions, requests for changes and comments on proposals you made.",
    )

    def __str__(self):
        return f"Profile of {self.user}"


# --------------------------------------------------------------------------- spreadsheet uploads


class UploadStatus(models.TextChoices):
    PREVIEWED = "previewed", "Previewed, awaiting confirmation"
    CONFIRMING = "confirming", "Confirmed, being proposed"
    PROPOSED = "proposed", "Proposed: a batch in the review queue"
    NOTHING = "nothing", "Nothing to propose"
    FAILED = "failed", "Cannot be proposed"
    CANCELLED = "cancelled", "Cancelled"


class ProposalUpload(SpreadsheetUpload):
    """A contributor's spreadsheet: its preview (one :class:`ProposalUploadRow` per row) until
    confirmed, then the :class:`ProposalBatch` it became. Changed only by :mod:`review.bulk`.

    The file itself waits in the "uploads" storage under ``stored_file`` between preview and
    confirmation, and is deleted once the upload is proposed, cancelled, failed or expired.
    """

    Status = UploadStatus

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposal_uploads"
    )
    status = models.CharField(max_length=20, choices=UploadStatus, default=UploadStatus.PREVIEWED)
    proposal_count = models.PositiveIntegerField(
        "proposals", default=0, help_text="How many proposals the new and changed rows make."
    )
    batch = models.OneToOneField(
        ProposalBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="upload"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=UploadStatus.values), name="review_upload_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="proposed", batch__isnull=False)
                | (~Q(status="proposed") & Q(batch__isnull=True)),
                name="review_upload_proposed_iff_batch",
            ),
            *length_constraints("review_upload", note=limits.NOTE),
        ]

    def __str__(self):
        return f"Upload {self.pk}: {self.file_name}"

    def get_absolute_url(self):
        return reverse("review:upload-detail", kwargs={"pk": self.pk})

    @property
    def can_be_confirmed(self) -> bool:
        return (
            self.status == UploadStatus.PREVIEWED
            and not self.rows_error
            and not self.problems
            and self.proposal_count > 0
        )


class ProposalUploadRow(PreviewRow):
    """One row of an upload's preview, with the proposals it makes once confirmed (as short
    descriptions)."""

    upload = models.ForeignKey(ProposalUpload, on_delete=models.CASCADE, related_name="rows")
    proposals = models.JSONField(default=list, blank=True)  # ["Edit: Name", ...]

    class Meta:
        ordering = ["upload", "row"]
        indexes = [
            models.Index(fields=["upload", "action", "row"], name="review_uploadrow_action"),
        ]
