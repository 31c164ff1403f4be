"""The curators' queue filters (django-filter), on :func:`review.selectors.proposal_list_queue`."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.utils import timezone

from catalog.models import Taxonomy

from .models import QUEUE, Proposal, ProposalKind, ProposalState

AGE_CHOICES = (
    ("1", "Waiting over a day"),
    ("7", "Waiting over a week"),
    ("30", "Waiting over a month"),
)


class ProposalQueueFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ProposalKind.choices, empty_label="Any kind")
    state = django_filters.ChoiceFilter(
        choices=[(s, ProposalState(s).label) for s in QUEUE], empty_label="Any open state"
    )
    taxonomy = django_filters.ModelChoiceFilter(
        queryset=Taxonomy.objects.all(),
        to_field_name="slug",
        empty_label="Any taxonomy",
        help_text="Reclassifications in this taxonomy.",
    )
    author = django_filters.CharFilter(
        field_name="author__username", lookup_expr="iexact", label="Author (username)"
    )
    age = django_filters.ChoiceFilter(
        choices=AGE_CHOICES, method="filter_age", empty_label="Any age", label="Age"
    )
    batch = django_filters.NumberFilter(
        field_name="batch", label="Batch (number)", help_text="The proposals of one batch."
    )
    claim = django_filters.ChoiceFilter(
        choices=(("unclaimed", "Unclaimed"), ("mine", "Claimed by me")),
        method="filter_claim",
        empty_label="Claimed or not",
        label="Claim",
    )

    class Meta:
        model = Proposal
        fields = ["kind", "state", "taxonomy", "author", "age", "batch", "claim"]

    def filter_age(self, queryset, name, value):
        return queryset.filter(submitted_at__lte=timezone.now() - timedelta(days=int(value)))

    def filter_claim(self, queryset, name, value):
        if value == "mine":
            return queryset.filter(claimed_by=self.request.user)
        return queryset.filter(claimed_by__isnull=True)
