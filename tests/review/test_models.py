"""Invariants the database keeps for proposals, and the append-only event log."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, models, transaction

from review import workflow
from review.models import Proposal, ProposalApproval, ProposalEvent, ProposalKind

from .conftest import new_proposal

pytestmark = pytest.mark.django_db


def refused_by_database(queryset: models.QuerySet, **values) -> bool:
    try:
        with transaction.atomic():
            queryset.update(**values)
    except (IntegrityError, DatabaseError):
        return True
    return False


class TestProposalConstraints:
    def test_the_state_must_be_one_of_the_known_ones(self, contributor):
        proposal = new_proposal(contributor)
        assert refused_by_database(Proposal.objects.filter(pk=proposal.pk), state="lost")

    def test_a_change_to_an_existing_record_names_it(self, contributor):
        proposal = new_proposal(contributor)
        assert refused_by_database(Proposal.objects.filter(pk=proposal.pk), mitigation=None)

    def test_a_reclassification_names_its_taxonomy(self, contributor):
        proposal = new_proposal(contributor, kind=ProposalKind.RECLASSIFY)
        assert refused_by_database(Proposal.objects.filter(pk=proposal.pk), taxonomy=None)

    def test_only_a_proposal_under_review_can_be_claimed(self, contributor, curator):
        draft = new_proposal(contributor, submit=False)
        assert refused_by_database(Proposal.objects.filter(pk=draft.pk), claimed_by=curator)

    def test_a_curator_approves_a_revision_once(self, contributor, curator, settings):
        settings.REVIEW_REQUIRED_APPROVALS = 3
        proposal = new_proposal(contributor)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        with pytest.raises(IntegrityError), transaction.atomic():
            ProposalApproval.objects.create(proposal=proposal, curator=curator, revision=1)


class TestEventLogIsAppendOnly:
    def test_an_event_cannot_be_saved_again(self, contributor):
        event = new_proposal(contributor).events.first()
        event.note = "rewritten"
        with pytest.raises(TypeError, match="append-only"):
            event.save()

    def test_events_cannot_be_updated_or_deleted_through_the_orm(self, contributor):
        events = new_proposal(contributor).events.all()
        with pytest.raises(TypeError, match="append-only"):
            events.update(note="rewritten")
        with pytest.raises(TypeError, match="append-only"):
            events.delete()
        with pytest.raises(TypeError, match="append-only"):
            events.first().delete()

    def test_the_database_refuses_an_update_that_goes_around_the_orm_guard(self, contributor):
        event = new_proposal(contributor).events.first()
        plain = models.QuerySet(model=ProposalEvent).filter(pk=event.pk)
        assert refused_by_database(plain, note="rewritten")
        event.refresh_from_db()
        assert event.note == ""


class TestTitles:
    def test_titles_say_what_a_proposal_changes(self, contributor):
        assert new_proposal(contributor).title == "Edit of A9001"
        assert new_proposal(contributor, kind=ProposalKind.RECLASSIFY).title == (
            "Reclassify A9001 in AI Risk Mitigation Taxonomy (preliminary)"
        )
        assert new_proposal(contributor, kind=ProposalKind.NEW).title == (
            "New mitigation: Independent pre-deployment audits of frontier models"
        )
