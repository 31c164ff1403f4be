"""The reads behind the review pages: the queue, its counts, overlaps, similar names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import services
from review import selectors, workflow
from review.filters import ProposalQueueFilter
from review.models import Proposal, ProposalKind

from .conftest import new_proposal, node

pytestmark = pytest.mark.django_db


def age(proposal, days):
    """Pretend ``proposal`` was submitted ``days`` ago (the queue sorts on this date)."""
    Proposal.objects.filter(pk=proposal.pk).update(
        submitted_at=timezone.now() - timedelta(days=days)
    )


class TestQueue:
    def test_lists_open_proposals_oldest_first(self, contributor, other_contributor, curator):
        newer = new_proposal(contributor)
        older = new_proposal(other_contributor, kind=ProposalKind.RETIRE)
        age(older, 10)
        sent_back = new_proposal(contributor, kind=ProposalKind.RECLASSIFY)
        age(sent_back, 5)
        workflow.proposal_request_changes(proposal=sent_back, actor=curator, note="Fix")
        draft = new_proposal(contributor, kind=ProposalKind.NEW, submit=False)
        decided = new_proposal(contributor, changes={"name": "Other"})
        workflow.proposal_reject(proposal=decided, actor=curator, note="No")
        listed = list(selectors.proposal_list_queue())
        assert listed == [older, sent_back, newer]
        assert draft not in listed and decided not in listed

    def filtered(self, curator, rf, **params):
        request = rf.get("/review/", params)
        request.user = curator
        return list(
            ProposalQueueFilter(
                params, queryset=selectors.proposal_list_queue(), request=request
            ).qs
        )

    def test_filters_by_kind_state_taxonomy_author_age_and_claim(
        self, contributor, other_contributor, curator, rf
    ):
        edit = new_proposal(contributor)
        reclassify = new_proposal(other_contributor, kind=ProposalKind.RECLASSIFY)
        age(reclassify, 8)
        workflow.proposal_claim(proposal=edit, actor=curator)
        assert self.filtered(curator, rf, kind="reclassify") == [reclassify]
        assert self.filtered(curator, rf, taxonomy="airm-preliminary") == [reclassify]
        assert self.filtered(curator, rf, author="OTTO-contributor") == [reclassify]
        assert self.filtered(curator, rf, age="7") == [reclassify]
        assert self.filtered(curator, rf, age="30") == []
        assert self.filtered(curator, rf, claim="mine") == [edit]
        assert self.filtered(curator, rf, claim="unclaimed") == [reclassify]
        assert self.filtered(curator, rf, state="submitted") == [reclassify, edit]

    def test_counts(self, contributor, curator, other_curator):
        first, second, third = (
            new_proposal(contributor, changes={"name": n}) for n in ("A", "B", "C")
        )
        workflow.proposal_claim(proposal=first, actor=curator)
        workflow.proposal_request_changes(proposal=second, actor=other_curator, note="Fix")
        workflow.proposal_resubmit(proposal=second, actor=contributor)
        workflow.proposal_request_changes(proposal=third, actor=other_curator, note="Fix")
        counts = selectors.proposal_queue_counts(curator)
        assert (counts.submitted, counts.resubmitted, counts.changes_requested) == (1, 1, 1)
        assert (counts.awaiting_review, counts.unclaimed, counts.mine) == (2, 1, 1)

    def test_carries_the_approvals_of_the_current_revision(self, contributor, curator, settings):
        settings.REVIEW_REQUIRED_APPROVALS = 2
        proposal = new_proposal(contributor)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        assert selectors.proposal_list_queue().get(pk=proposal.pk).approval_count == 1


class TestOverlaps:
    def test_two_open_proposals_on_the_same_field_are_flagged_on_both(
        self, contributor, other_contributor
    ):
        mine = new_proposal(contributor, changes={"name": "Mine", "definition": "Mine"})
        theirs = new_proposal(other_contributor, changes={"name": "Theirs"})
        overlaps = selectors.proposal_overlaps([mine, theirs])
        assert [(o.proposal, o.keys) for o in overlaps[mine.pk]] == [(theirs, ["name"])]
        assert [(o.proposal, o.keys) for o in overlaps[theirs.pk]] == [(mine, ["name"])]
        assert overlaps[mine.pk][0].labels == "name"

    def test_different_fields_are_not_flagged(self, contributor, other_contributor):
        mine = new_proposal(contributor, changes={"name": "Mine"})
        new_proposal(other_contributor, changes={"definition": "Theirs"})
        assert selectors.proposal_overlaps([mine]) == {}

    def test_reclassifications_in_the_same_taxonomy_overlap(self, contributor, other_contributor):
        mine = new_proposal(contributor, kind=ProposalKind.RECLASSIFY)
        new_proposal(
            other_contributor,
            kind=ProposalKind.RECLASSIFY,
            changes={"placements": [[node("2.1").pk, ""]]},
        )
        (overlap,) = selectors.proposal_overlaps([mine])[mine.pk]
        assert overlap.labels == "classification in AI Risk Mitigation Taxonomy (preliminary)"

    def test_a_retirement_overlaps_everything_on_the_record(self, contributor, other_contributor):
        edit = new_proposal(contributor)
        retire = new_proposal(other_contributor, kind=ProposalKind.RETIRE)
        assert selectors.proposal_overlaps([edit])[edit.pk][0].proposal == retire

    def test_decided_drafts_and_other_records_do_not_count(
        self, contributor, other_contributor, curator, other_record
    ):
        mine = new_proposal(contributor, changes={"name": "Mine"})
        rejected = new_proposal(other_contributor, changes={"name": "Theirs"})
        workflow.proposal_reject(proposal=rejected, actor=curator, note="No")
        new_proposal(other_contributor, changes={"name": "Draft"}, submit=False)
        new_proposal(other_contributor, mitigation=other_record, changes={"name": "Elsewhere"})
        assert selectors.proposal_overlaps([mine]) == {}


class TestSimilar:
    def test_finds_a_near_duplicate_name(self, record):
        found = selectors.mitigation_list_similar("Adversarial trainings")
        assert found[0].mitigation == record
        assert 0 < found[0].score <= 1

    def test_ranks_the_closest_first(self, record):
        names = [
            s.mitigation.name for s in selectors.mitigation_list_similar("Robustness certificate")
        ]
        assert names[0] == "Robustness certificates"

    def test_finds_nothing_for_an_unrelated_name(self):
        assert selectors.mitigation_list_similar("Zebra crossings painted yellow") == []

    def test_ignores_merged_records(self, record, other_record):
        services.mitigation_merge(mitigation=record, into=other_record, actor=None, reason="Dup")
        found = [s.mitigation for s in selectors.mitigation_list_similar("Adversarial training")]
        assert record not in found

    def test_too_short_a_name_finds_nothing(self):
        assert selectors.mitigation_list_similar("ab") == []


def test_approved_proposals_for_a_record_most_recent_first(contributor, curator, record):
    first = new_proposal(contributor, changes={"name": "One"})
    workflow.proposal_approve(proposal=first, actor=curator)
    second = new_proposal(contributor, mitigation=record, changes={"name": "Two"})
    workflow.proposal_approve(proposal=second, actor=curator)
    new_proposal(contributor, mitigation=record, changes={"name": "Three"})
    assert list(selectors.proposal_list_approved_for_mitigation(record)) == [second, first]
    assert selectors.proposal_count_open_for_mitigation(record) == 1
