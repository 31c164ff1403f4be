"""The review workflow: guarded transitions, approval applying through the catalog services."""

from __future__ import annotations

import inspect
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.urls import resolve, reverse

from catalog import services
from catalog.history import ref_url
from catalog.models import Classification, Mitigation
from review import permissions, views, workflow
from review.accounts import profile_update
from review.models import Proposal, ProposalApproval, ProposalEvent, ProposalKind, ProposalState
from tests.factories import MitigationFactory

from .conftest import RECORD, new_proposal, node

pytestmark = pytest.mark.django_db

State = ProposalState


def actions(proposal):
    return list(proposal.events.order_by("pk").values_list("action", flat=True))


# --------------------------------------------------------------------------- the author's side


class TestCreateAndSubmit:
    def test_a_draft_remembers_the_record_it_was_made_against(self, contributor, record):
        proposal = new_proposal(contributor, submit=False)
        assert proposal.state == State.DRAFT
        assert proposal.base == {"section_path": record.section_path, "status": "active"}
        assert actions(proposal) == ["created"]

    def test_submitting_a_draft_puts_it_in_the_queue_with_a_date(self, contributor):
        proposal = new_proposal(contributor, submit=False)
        workflow.proposal_submit(proposal=proposal, actor=contributor)
        proposal.refresh_from_db()
        assert proposal.state == State.SUBMITTED
        assert proposal.submitted_at is not None
        assert actions(proposal) == ["created", "submitted"]

    def test_only_the_author_submits(self, contributor, other_contributor):
        proposal = new_proposal(contributor, submit=False)
        with pytest.raises(workflow.NotAllowed, match="Only the author"):
            workflow.proposal_submit(proposal=proposal, actor=other_contributor)
        proposal.refresh_from_db()
        assert proposal.state == State.DRAFT

    def test_submitting_twice_is_a_wrong_state(self, contributor):
        proposal = new_proposal(contributor)
        with pytest.raises(workflow.WrongState, match="submitted"):
            workflow.proposal_submit(proposal=proposal, actor=contributor)

    def test_the_author_may_withdraw_before_a_decision(self, contributor):
        proposal = new_proposal(contributor)
        workflow.proposal_withdraw(proposal=proposal, actor=contributor, note="Duplicate of #1")
        proposal.refresh_from_db()
        assert proposal.state == State.WITHDRAWN
        assert proposal.events.last().note == "Duplicate of #1"

    def test_nobody_withdraws_a_decided_proposal(self, contributor, curator):
        proposal = new_proposal(contributor)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        with pytest.raises(workflow.WrongState, match="already approved"):
            workflow.proposal_withdraw(proposal=proposal, actor=contributor)


class TestBadInputChangesNothing:
    def test_an_empty_rationale_is_refused(self, contributor):
        with pytest.raises(ValidationError) as error:
            new_proposal(contributor, rationale="   ")
        assert "rationale" in error.value.message_dict
        assert not Proposal.objects.exists()

    def test_an_unknown_node_is_refused(self, contributor, preliminary):
        with pytest.raises(ValidationError, match="does not exist"):
            new_proposal(
                contributor,
                kind=ProposalKind.RECLASSIFY,
                changes={"placements": [[999_999, ""]]},
                taxonomy=preliminary,
            )
        assert not Proposal.objects.exists()

    def test_a_node_of_another_taxonomy_is_refused(self, contributor, preliminary):
        with pytest.raises(ValidationError, match="is not a node of"):
            new_proposal(
                contributor,
                kind=ProposalKind.RECLASSIFY,
                changes={"placements": [[node("1.1.2", "airm-draft").pk, ""]]},
                taxonomy=preliminary,
            )

    def test_a_reclassification_to_the_current_node_is_refused(self, contributor, preliminary):
        with pytest.raises(ValidationError, match="already its classification"):
            new_proposal(
                contributor,
                kind=ProposalKind.RECLASSIFY,
                changes={
                    "placements": [
                        [node("2.3").pk, "Hardens model behaviour against manipulated inputs."]
                    ]
                },
                taxonomy=preliminary,
            )

    def test_a_merge_into_itself_is_refused(self, contributor, record):
        with pytest.raises(ValidationError, match="into itself"):
            new_proposal(contributor, kind=ProposalKind.MERGE, changes={"into": record.pk})
        assert not Proposal.objects.exists()

    def test_a_merge_into_a_retired_record_is_refused(self, contributor, other_record):
        services.mitigation_retire(mitigation=other_record, actor=None, reason="Test")
        with pytest.raises(ValidationError, match="merge into an active record"):
            new_proposal(contributor, kind=ProposalKind.MERGE)
        assert not Proposal.objects.exists()

    def test_an_edit_of_a_merged_record_is_refused(self, contributor, record, other_record):
        services.mitigation_merge(mitigation=record, into=other_record, actor=None, reason="Dup")
        with pytest.raises(ValidationError, match="propose changes to A9002 instead"):
            new_proposal(contributor, changes={"name": "Something else"})
        assert not Proposal.objects.exists()

    def test_an_edit_that_changes_nothing_is_refused(self, contributor, record):
        with pytest.raises(ValidationError, match="Change at least one field"):
            new_proposal(contributor, changes={"name": record.name})


# --------------------------------------------------------------------------- deciding


class TestApproval:
    def test_approval_applies_the_change_with_who_proposed_and_who_approved(
        self, contributor, curator, record
    ):
        proposal = new_proposal(contributor)
        outcome = workflow.proposal_approve(proposal=proposal, actor=curator, note="Good catch")
        assert outcome.applied
        record.refresh_from_db()
        assert record.section_path == "Model development > Robustness"
        proposal.refresh_from_db()
        assert proposal.state == State.APPROVED
        assert proposal.decided_by == curator
        assert proposal.decision_note == "Good catch"
        assert actions(proposal) == ["created", "submitted", "approved", "applied"]
        row = record.history.latest()
        assert row.history_user == curator
        assert row.history_ref == f"proposal:{proposal.pk}"
        assert "Cora" in row.history_change_reason  # proposed by
        assert "Cecil" in row.history_change_reason  # approved by
        assert ref_url(row.history_ref) == proposal.get_absolute_url()

    def test_the_author_never_approves_their_own_proposal(self, curator):
        proposal = new_proposal(curator)
        with pytest.raises(workflow.NotAllowed, match="Nobody decides their own"):
            workflow.proposal_approve(proposal=proposal, actor=curator)
        proposal.refresh_from_db()
        assert proposal.state == State.SUBMITTED

    def test_a_contributor_cannot_approve(self, contributor, other_contributor, record):
        proposal = new_proposal(contributor)
        with pytest.raises(workflow.NotAllowed, match="Only curators"):
            workflow.proposal_approve(proposal=proposal, actor=other_contributor)
        record.refresh_from_db()
        assert record.section_path != "Model development > Robustness"

    def test_a_draft_cannot_be_approved(self, contributor, curator):
        proposal = new_proposal(contributor, submit=False)
        with pytest.raises(workflow.WrongState, match="draft"):
            workflow.proposal_approve(proposal=proposal, actor=curator)

    def test_a_second_approval_after_the_decision_is_a_wrong_state_naming_the_decider(
        self, contributor, curator, other_curator
    ):
        proposal = new_proposal(contributor)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        with pytest.raises(workflow.WrongState, match="Cecil has already approved"):
            workflow.proposal_approve(proposal=proposal, actor=other_curator)
        assert ProposalApproval.objects.filter(proposal=proposal).count() == 1

    def test_a_new_mitigation_is_created_and_linked(self, contributor, curator):
        proposal = new_proposal(contributor, kind=ProposalKind.NEW)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        proposal.refresh_from_db()
        created = proposal.mitigation
        assert created.name == "Independent pre-deployment audits of frontier models"
        assert created.number == 9060  # the next free number after the demo's A9059
        assert created.classifications.get().node == node("3.1")
        assert created.history.get().history_ref == f"proposal:{proposal.pk}"

    def test_a_reclassification_moves_the_record_to_the_new_node(
        self, contributor, curator, record, preliminary
    ):
        proposal = new_proposal(contributor, kind=ProposalKind.RECLASSIFY)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        row = Classification.objects.get(mitigation=record, taxonomy=preliminary)
        assert row.node == node("3.1")
        assert row.reasoning == "It is a kind of testing"
        assert row.history.latest().history_ref == f"proposal:{proposal.pk}"

    def test_a_retirement_retires_the_record_with_the_reason(self, contributor, curator, record):
        proposal = new_proposal(contributor, kind=ProposalKind.RETIRE, rationale="Not a mitigation")
        workflow.proposal_approve(proposal=proposal, actor=curator)
        record.refresh_from_db()
        assert record.status == Mitigation.Status.RETIRED
        assert record.status_note.startswith("Not a mitigation")

    def test_a_merge_points_the_duplicate_at_the_record_kept(
        self, contributor, curator, record, other_record
    ):
        proposal = new_proposal(contributor, kind=ProposalKind.MERGE)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        record.refresh_from_db()
        assert record.status == Mitigation.Status.MERGED
        assert record.merged_into == other_record


class TestRejectAndRequestChanges:
    def test_rejecting_needs_a_note(self, contributor, curator):
        proposal = new_proposal(contributor)
        with pytest.raises(ValidationError, match="Say why"):
            workflow.proposal_reject(proposal=proposal, actor=curator, note=" ")
        proposal.refresh_from_db()
        assert proposal.state == State.SUBMITTED

    def test_rejecting_records_the_decision_and_changes_nothing(self, contributor, curator, record):
        before = record.section_path
        proposal = new_proposal(contributor)
        workflow.proposal_reject(proposal=proposal, actor=curator, note="The source disagrees")
        proposal.refresh_from_db()
        record.refresh_from_db()
        assert proposal.state == State.REJECTED
        assert proposal.decision_note == "The source disagrees"
        assert record.section_path == before
        assert not record.history.filter(history_ref=f"proposal:{proposal.pk}").exists()

    def test_requesting_changes_needs_a_note(self, contributor, curator):
        proposal = new_proposal(contributor)
        with pytest.raises(ValidationError, match="Say what should change"):
            workflow.proposal_request_changes(proposal=proposal, actor=curator, note="")

    def test_changes_requested_then_updated_then_resubmitted_then_approved(
        self, contributor, curator, record
    ):
        proposal = new_proposal(contributor)
        workflow.proposal_request_changes(proposal=proposal, actor=curator, note="Be precise")
        workflow.proposal_update(
            proposal=proposal,
            actor=contributor,
            changes={"section_path": "Model development > Adversarial robustness"},
            rationale="More precise now",
        )
        workflow.proposal_resubmit(proposal=proposal, actor=contributor)
        proposal.refresh_from_db()
        assert (proposal.state, proposal.revision) == (State.RESUBMITTED, 2)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        record.refresh_from_db()
        assert record.section_path == "Model development > Adversarial robustness"
        assert actions(proposal) == [
            "created",
            "submitted",
            "changes_requested",
            "updated",
            "resubmitted",
            "approved",
            "applied",
        ]

    def test_a_submitted_proposal_cannot_be_updated(self, contributor):
        proposal = new_proposal(contributor)
        with pytest.raises(workflow.WrongState):
            workflow.proposal_update(
                proposal=proposal, actor=contributor, changes={"name": "X"}, rationale="Y"
            )


class TestSeveralApprovals:
    @pytest.fixture(autouse=True)
    def two_for_merges(self, settings):
        settings.REVIEW_REQUIRED_APPROVALS_BY_KIND = {"merge": 2, "retire": 2}

    def test_one_approval_is_not_enough_for_a_merge(self, contributor, curator, record):
        proposal = new_proposal(contributor, kind=ProposalKind.MERGE)
        outcome = workflow.proposal_approve(proposal=proposal, actor=curator)
        assert (outcome.applied, outcome.approvals, outcome.required) == (False, 1, 2)
        proposal.refresh_from_db()
        record.refresh_from_db()
        assert proposal.state == State.SUBMITTED
        assert record.status == Mitigation.Status.ACTIVE

    def test_a_second_distinct_curator_applies_it(
        self, contributor, curator, other_curator, record
    ):
        proposal = new_proposal(contributor, kind=ProposalKind.MERGE)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        outcome = workflow.proposal_approve(proposal=proposal, actor=other_curator)
        assert outcome.applied
        record.refresh_from_db()
        assert record.status == Mitigation.Status.MERGED
        assert "Cecil, Olga" in record.history.latest().history_change_reason

    def test_the_same_curator_counts_once(self, contributor, curator):
        proposal = new_proposal(contributor, kind=ProposalKind.MERGE)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        with pytest.raises(workflow.WrongState, match="already approved this revision"):
            workflow.proposal_approve(proposal=proposal, actor=curator)

    def test_approvals_of_an_earlier_revision_do_not_count(
        self, contributor, curator, other_curator, record
    ):
        proposal = new_proposal(contributor, kind=ProposalKind.RETIRE)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        workflow.proposal_request_changes(proposal=proposal, actor=other_curator, note="Why?")
        workflow.proposal_resubmit(proposal=proposal, actor=contributor)
        outcome = workflow.proposal_approve(proposal=proposal, actor=other_curator)
        assert not outcome.applied
        assert outcome.approvals == 1

    def test_edits_still_need_one(self, contributor, curator):
        outcome = workflow.proposal_approve(proposal=new_proposal(contributor), actor=curator)
        assert outcome.applied


# --------------------------------------------------------------------------- conflicts


class TestConflicts:
    def test_approval_is_refused_when_the_touched_field_changed_and_goes_back_to_the_author(
        self, contributor, curator, admin, record
    ):
        proposal = new_proposal(contributor)
        services.mitigation_update(
            mitigation=record,
            data={"section_path": "Somewhere else"},
            actor=admin,
            reason="Admin fix",
        )
        with pytest.raises(workflow.StaleBase) as error:
            workflow.proposal_approve(proposal=proposal, actor=curator)
        (conflict,) = error.value.conflicts
        assert conflict.label == "Section in source"
        assert conflict.current == "Somewhere else"
        assert conflict.proposed == "Model development > Robustness"
        assert conflict.base != conflict.current
        proposal.refresh_from_db()
        record.refresh_from_db()
        assert proposal.state == State.CHANGES_REQUESTED
        assert record.section_path == "Somewhere else"
        assert actions(proposal)[-1] == "sent_back"
        assert not ProposalApproval.objects.filter(proposal=proposal).exists()

    def test_after_updating_against_the_current_record_it_can_be_approved(
        self, contributor, curator, admin, record
    ):
        proposal = new_proposal(contributor)
        services.mitigation_update(
            mitigation=record, data={"section_path": "Elsewhere"}, actor=admin, reason="Fix"
        )
        with pytest.raises(workflow.StaleBase):
            workflow.proposal_approve(proposal=proposal, actor=curator)
        workflow.proposal_update(
            proposal=proposal,
            actor=contributor,
            changes={"section_path": "Model development > Robustness"},
            rationale="Still right",
        )
        proposal.refresh_from_db()
        assert proposal.base["section_path"] == "Elsewhere"
        workflow.proposal_resubmit(proposal=proposal, actor=contributor)
        assert workflow.proposal_approve(proposal=proposal, actor=curator).applied

    def test_a_change_to_another_field_is_no_conflict(self, contributor, curator, admin, record):
        proposal = new_proposal(contributor)
        services.mitigation_update(
            mitigation=record, data={"name": "Adversarial training (v2)"}, actor=admin, reason="x"
        )
        assert workflow.proposal_approve(proposal=proposal, actor=curator).applied
        record.refresh_from_db()
        assert record.name == "Adversarial training (v2)"
        assert record.section_path == "Model development > Robustness"

    def test_a_record_retired_since_is_a_conflict_for_an_edit(self, contributor, curator, record):
        proposal = new_proposal(contributor)
        services.mitigation_retire(mitigation=record, actor=None, reason="Gone")
        with pytest.raises(workflow.StaleBase, match="status"):
            workflow.proposal_approve(proposal=proposal, actor=curator)

    def test_a_reclassification_made_since_is_a_conflict(
        self, contributor, other_contributor, curator, record, preliminary
    ):
        mine = new_proposal(contributor, kind=ProposalKind.RECLASSIFY)
        theirs = new_proposal(
            other_contributor,
            kind=ProposalKind.RECLASSIFY,
            changes={"placements": [[node("2.1").pk, ""]]},
        )
        workflow.proposal_approve(proposal=theirs, actor=curator)
        with pytest.raises(workflow.StaleBase) as error:
            workflow.proposal_approve(proposal=mine, actor=curator)
        assert "2.1" in error.value.conflicts[0].current


# --------------------------------------------------------------------------- claims and comments


class TestClaims:
    def test_a_curator_claims_and_releases(self, contributor, curator):
        proposal = new_proposal(contributor)
        workflow.proposal_claim(proposal=proposal, actor=curator)
        proposal.refresh_from_db()
        assert proposal.claimed_by == curator
        workflow.proposal_release(proposal=proposal, actor=curator)
        proposal.refresh_from_db()
        assert proposal.claimed_by is None
        assert actions(proposal)[-2:] == ["claimed", "released"]

    def test_a_claimed_proposal_cannot_be_claimed_by_another(
        self, contributor, curator, other_curator
    ):
        proposal = new_proposal(contributor)
        workflow.proposal_claim(proposal=proposal, actor=curator)
        with pytest.raises(workflow.WrongState, match="Cecil has already claimed"):
            workflow.proposal_claim(proposal=proposal, actor=other_curator)

    def test_only_the_claimer_or_an_admin_releases(
        self, contributor, curator, other_curator, admin
    ):
        proposal = new_proposal(contributor)
        workflow.proposal_claim(proposal=proposal, actor=curator)
        with pytest.raises(workflow.NotAllowed):
            workflow.proposal_release(proposal=proposal, actor=other_curator)
        workflow.proposal_release(proposal=proposal, actor=admin)
        proposal.refresh_from_db()
        assert proposal.claimed_by is None

    def test_a_decision_clears_the_claim(self, contributor, curator):
        proposal = new_proposal(contributor)
        workflow.proposal_claim(proposal=proposal, actor=curator)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        proposal.refresh_from_db()
        assert proposal.claimed_by is None


class TestComments:
    def test_author_and_curators_discuss(self, contributor, curator):
        proposal = new_proposal(contributor)
        workflow.proposal_comment(proposal=proposal, actor=curator, body="Which page?")
        workflow.proposal_comment(proposal=proposal, actor=contributor, body="Page 12.")
        assert list(proposal.comments.values_list("body", flat=True)) == [
            "Which page?",
            "Page 12.",
        ]

    def test_other_contributors_do_not_take_part(self, contributor, other_contributor):
        proposal = new_proposal(contributor)
        with pytest.raises(workflow.NotAllowed):
            workflow.proposal_comment(proposal=proposal, actor=other_contributor, body="Hi")

    def test_an_empty_comment_is_refused(self, contributor):
        proposal = new_proposal(contributor)
        with pytest.raises(ValidationError):
            workflow.proposal_comment(proposal=proposal, actor=contributor, body="  ")


# --------------------------------------------------------------------------- email


class TestEmail:
    def test_curators_hear_of_a_submission_after_the_commit(
        self, contributor, curator, other_curator, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            new_proposal(contributor)
        assert mailoutbox == []  # nothing before the commit
        for callback in callbacks:
            callback()
        recipients = {m.to[0] for m in mailoutbox}
        assert {curator.email, other_curator.email} <= recipients
        assert contributor.email not in recipients
        assert "submitted" in mailoutbox[0].subject

    def test_a_curator_can_turn_submission_emails_off(
        self, contributor, curator, mailoutbox, django_capture_on_commit_callbacks
    ):
        profile_update(
            user=curator, display_name="", email_on_submission=False, email_on_my_proposals=True
        )
        with django_capture_on_commit_callbacks(execute=True):
            new_proposal(contributor)
        assert curator.email not in {m.to[0] for m in mailoutbox}

    @pytest.mark.parametrize(
        ("decide", "subject"),
        [
            (lambda p, c: workflow.proposal_approve(proposal=p, actor=c), "approved and applied"),
            (lambda p, c: workflow.proposal_reject(proposal=p, actor=c, note="No"), "rejected"),
            (
                lambda p, c: workflow.proposal_request_changes(proposal=p, actor=c, note="Fix"),
                "changes requested",
            ),
            (
                lambda p, c: workflow.proposal_comment(proposal=p, actor=c, body="Hm"),
                "new comment",
            ),
        ],
    )
    def test_the_author_hears_of_decisions_requests_and_comments(
        self, contributor, curator, mailoutbox, django_capture_on_commit_callbacks, decide, subject
    ):
        proposal = new_proposal(contributor)
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            decide(proposal, curator)
        (message,) = mailoutbox
        assert message.to == [contributor.email]
        assert subject in message.subject
        assert proposal.get_absolute_url() in message.body

    def test_an_author_can_turn_their_emails_off(
        self, contributor, curator, mailoutbox, django_capture_on_commit_callbacks
    ):
        profile_update(
            user=contributor, display_name="", email_on_submission=True, email_on_my_proposals=False
        )
        proposal = new_proposal(contributor)
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            workflow.proposal_reject(proposal=proposal, actor=curator, note="No")
        assert mailoutbox == []

    def test_a_failed_transition_sends_nothing(
        self, contributor, other_contributor, mailoutbox, django_capture_on_commit_callbacks
    ):
        proposal = new_proposal(contributor)
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(workflow.NotAllowed):
            workflow.proposal_reject(proposal=proposal, actor=other_contributor, note="No")
        assert mailoutbox == []


# --------------------------------------------------------------------------- a real race


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_curators_approving_at_the_same_moment_apply_it_exactly_once(
    contributor, curator, other_curator
):
    """Two real PostgreSQL connections approve the same proposal behind a barrier."""
    if connection.vendor != "postgresql":
        pytest.skip("needs two concurrent PostgreSQL connections (SQLite serialises writers)")
    proposal = new_proposal(contributor, kind=ProposalKind.RECLASSIFY)
    record = Mitigation.objects.get(number=RECORD)
    before = Classification.history.filter(mitigation_id=record.pk).count()
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def approve(curator_user):
        try:
            barrier.wait(timeout=10)
            outcome = workflow.proposal_approve(
                proposal=Proposal.objects.get(pk=proposal.pk), actor=curator_user
            )
            results[curator_user.username] = outcome
        except workflow.WorkflowError as error:
            results[curator_user.username] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (curator, other_curator)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    outcomes = list(results.values())
    applied = [o for o in outcomes if isinstance(o, workflow.ApprovalOutcome) and o.applied]
    refused = [o for o in outcomes if isinstance(o, workflow.WrongState)]
    assert len(applied) == 1, outcomes
    assert len(refused) == 1, outcomes
    assert "has already approved and applied this proposal" in refused[0].message
    proposal.refresh_from_db()
    assert proposal.state == State.APPROVED
    assert ProposalEvent.objects.filter(proposal=proposal, action="applied").count() == 1
    assert ProposalApproval.objects.filter(proposal=proposal).count() == 1
    assert Classification.history.filter(mitigation_id=record.pk).count() == before + 1


def test_a_mitigation_made_by_a_factory_can_be_proposed_on(contributor, curator):
    mitigation = MitigationFactory()
    proposal = new_proposal(contributor, mitigation=mitigation, changes={"name": "Renamed"})
    workflow.proposal_approve(proposal=proposal, actor=curator)
    mitigation.refresh_from_db()
    assert mitigation.name == "Renamed"


# --------------------------------------------------------------------------- the table of actions


class TestTheTableOfActions:
    """``workflow.ACTIONS`` is the one list of actions: each row must be whole and agree with
    the rules, the states, the URLs, the views and the buttons drawn from it."""

    @pytest.mark.parametrize("name", list(workflow.ACTIONS))
    def test_each_action_is_whole(self, name):
        action = workflow.ACTIONS[name]
        assert action.name == name
        assert action.label and action.past
        assert action.allowed_from
        assert set(action.allowed_from) <= set(State.values)
        assert action.note in ("", "optional", "required")
        assert bool(action.note_prompt) == (action.note == "required")
        assert action.style in ("primary", "secondary", "danger")
        assert action.method in ("get", "post")
        assert action.transition.__module__ == "review.workflow"
        assert action.transition.__name__.startswith("proposal_")
        assert action.own_view or action.done, "the generic view says what was done"

    @pytest.mark.parametrize("name", list(workflow.ACTIONS))
    def test_each_rule_is_a_named_permission_with_the_signature_the_table_says(self, name):
        action = workflow.ACTIONS[name]
        assert getattr(permissions, action.rule.__name__) is action.rule
        takes_curator = "curator" in inspect.signature(action.rule).parameters
        assert takes_curator == action.curator_rule

    @pytest.mark.parametrize("name", list(workflow.ACTIONS))
    def test_each_transition_takes_a_note_exactly_when_the_table_offers_one(self, name):
        action = workflow.ACTIONS[name]
        parameters = inspect.signature(action.transition).parameters
        assert {"proposal", "actor"} <= set(parameters)
        if not action.own_view:
            assert ("note" in parameters) == bool(action.note)
        if action.note != "required" and "note" in parameters:
            assert parameters["note"].default == "", "an optional note has a default"

    @pytest.mark.parametrize("name", list(workflow.ACTIONS))
    def test_each_action_has_its_url_and_view(self, name):
        action = workflow.ACTIONS[name]
        path = reverse(action.url_name, args=[1])
        assert path == f"/review/proposals/1/{action.slug}/"
        match = resolve(path)
        assert match.func is views.ACTION_VIEWS[name]
        assert set(views.ACTION_VIEWS) == set(workflow.ACTIONS)

    @pytest.mark.parametrize("name", list(workflow.BATCH_ACTIONS))
    def test_each_batch_decision_has_its_url_view_and_prompt(self, name):
        action = workflow.BATCH_ACTIONS[name]
        assert bool(action.batch_note_prompt) == (action.note == "required")
        assert action.method == "post" and not action.own_view
        assert "note" in inspect.signature(action.transition).parameters
        assert "notify" in inspect.signature(action.transition).parameters
        path = reverse(action.batch_url_name, args=[1])
        assert resolve(path).func is views.BATCH_ACTION_VIEWS[name]

    def test_every_proposal_url_of_an_action_comes_from_the_table(self):
        from review.urls import urlpatterns

        routes = {
            str(pattern.pattern): pattern.name
            for pattern in urlpatterns
            if str(pattern.pattern).startswith(("proposals/<int:pk>/", "batches/<int:pk>/"))
        }
        expected = {f"proposal-{a.slug}" for a in workflow.ACTIONS.values()}
        expected |= {f"batch-{a.slug}" for a in workflow.BATCH_ACTIONS.values()}
        assert set(routes.values()) - {"proposal-detail", "batch-detail"} == expected

    def test_every_state_but_the_final_ones_offers_someone_an_action(self):
        final = {State.APPROVED, State.REJECTED, State.WITHDRAWN}
        for state in set(State.values) - final:
            assert any(state in a.allowed_from and a.button for a in workflow.ACTIONS.values()), (
                state
            )
        for state in final:
            assert not any(
                state in a.allowed_from and a.button for a in workflow.ACTIONS.values()
            ), state

    @pytest.mark.parametrize("name", [n for n, a in workflow.ACTIONS.items() if not a.own_view])
    def test_a_wrong_state_is_refused_with_the_tables_words(self, name, contributor, curator):
        action = workflow.ACTIONS[name]
        proposal = new_proposal(contributor)
        workflow.proposal_withdraw(proposal=proposal, actor=contributor)
        proposal.refresh_from_db()
        actor = curator if action.curator_rule else contributor
        kwargs = {"note": "Because"} if action.note else {}
        with pytest.raises(workflow.WrongState, match=f"cannot be {action.past} now"):
            action.transition(proposal=proposal, actor=actor, **kwargs)
