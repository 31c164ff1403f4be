"""Campaigns, the records in their scope, the codings coders make and the final results.

None of these is curated data: a campaign is the record of a coding effort. What it changes in
the catalog is written, when a curator adjudicates, through :mod:`catalog.services` (with
history whose ``history_ref`` is ``campaign:<pk>``). Every write here goes through
:mod:`review.campaigns.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from catalog import limits
from catalog.limits import length_constraints, text_field
from catalog.models import Mitigation, Taxonomy, TaxonomyNode

CODERS_GROUP = "Coders"
MAX_CODERS_PER_RECORD = 10
QUERY_MAX = 2000
REASONING_MAX = 1000


class CampaignState(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Campaign(models.Model):
    """A coding effort: which records (a saved ``/mitigations/`` query), into which taxonomy,
    by whom, how many coders per record, and how (blind, with suggestions)."""

    State = CampaignState

    name = models.CharField(max_length=200)
    instructions = text_field(limits.NOTE, blank=True)
    taxonomy = models.ForeignKey(Taxonomy, on_delete=models.PROTECT, related_name="campaigns")
    query = models.CharField(
        "scope",
        max_length=QUERY_MAX,
        blank=True,
        help_text="A query string of the mitigations list, e.g. source=NIST2024&q=red+team; "
        "empty means every active record.",
    )
    coders_per_record = models.PositiveSmallIntegerField(default=2)
    coders = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="coding_campaigns"
    )
    coders_group = models.ForeignKey(
        Group,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Everyone in this group codes too (e.g. the Coders group).",
    )
    blind = models.BooleanField(
        default=False,
        help_text="Coders see neither the other codes nor the record's current classification "
        "in the target taxonomy until they have submitted.",
    )
    show_suggestions = models.BooleanField(default=True)
    state = models.CharField(max_length=10, choices=CampaignState, default=CampaignState.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for a campaign made by a command (manage.py campaign_create).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=CampaignState.values), name="campaigns_campaign_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(coders_per_record__gte=1, coders_per_record__lte=MAX_CODERS_PER_RECORD),
                name="campaigns_campaign_coders_per_record_range",
            ),
            *length_constraints("campaigns_campaign", instructions=limits.NOTE),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("campaigns:detail", kwargs={"pk": self.pk})

    @property
    def ref(self) -> str:
        """The ``history_ref`` of every change an adjudication of this campaign applied."""
        return f"campaign:{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state == CampaignState.OPEN


class RecordState(models.TextChoices):
    CODING = "coding", "Needs codes"
    CODED = "coded", "Coded, awaiting adjudication"
    DECIDED = "decided", "Decided"


class CampaignRecord(models.Model):
    """A record in a campaign's scope (fixed when the campaign opens): how many codes it needs,
    how many it has (the slots, taken by a compare-and-set the database guards), and its final
    result once a curator decided it."""

    State = RecordState

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="records")
    mitigation = models.ForeignKey(Mitigation, on_delete=models.PROTECT, related_name="+")
    needed = models.PositiveSmallIntegerField()
    coded = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=10, choices=RecordState, default=RecordState.CODING)
    final_nodes = models.ManyToManyField(TaxonomyNode, blank=True, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=REASONING_MAX, blank=True)
    agreed = models.BooleanField(
        default=False, help_text="Decided by accepting the coders' unanimous codes."
    )

    class Meta:
        ordering = ["campaign", "mitigation__number"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "mitigation"], name="campaigns_record_unique_per_campaign"
            ),
            # The last slot of a record is taken once: two coders racing for it cannot both
            # increment past what the record needs (see services.coding_submit).
            models.CheckConstraint(
                condition=Q(coded__lte=F("needed")), name="campaigns_record_coded_within_needed"
            ),
            models.CheckConstraint(
                condition=Q(state__in=RecordState.values), name="campaigns_record_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(state="decided", decided_at__isnull=False)
                | (~Q(state="decided") & Q(decided_at__isnull=True)),
                name="campaigns_record_decided_iff_when",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "state", "coded"], name="campaigns_record_queue"),
        ]

    def __str__(self):
        return f"{self.campaign_id}: {self.mitigation_id}"


class Coding(models.Model):
    """One coder's codes for one record of a campaign (or their skipping it)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="codings")
    record = models.ForeignKey(CampaignRecord, on_delete=models.CASCADE, related_name="codings")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="codings"
    )
    nodes = models.ManyToManyField(TaxonomyNode, blank=True, related_name="+")
    reasoning = models.CharField(max_length=REASONING_MAX, blank=True)
    unsure = models.BooleanField(default=False)
    skipped = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["record", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "record", "coder"], name="campaigns_coding_unique_per_coder"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "coder"], name="campaigns_coding_coder"),
        ]

    def __str__(self):
        return f"{self.coder_id} on {self.record_id}"
