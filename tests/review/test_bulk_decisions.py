"""Curators decide a whole batch: each proposal awaiting review by the usual rules, reported."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from catalog import services
from catalog.models import Classification, Mitigation
from review import workflow
from review.models import Proposal, ProposalApproval, ProposalEvent, ProposalKind, ProposalState
from tests.review.bulk_files import confirm_upload
from tests.spreadsheets import history_total

from .bulk_files import MIT_MITIGATION_HEADER, column, exported_rows, preview
from .conftest import node

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("upload_dir")]

State = ProposalState
RATIONALE = "Checked against the 2025 edition of each source."


def make_batch(author):
    """A9001 renamed and moved to 3.1, A9002 re-sectioned, and a new record A1200."""
    rows = exported_rows(9001, 9002)
    rows[1][column(rows, "Name")] = "Adversarial training on attack prompts"
    rows[1][column(rows, "airm-preliminary")] = "3.1 Testing & Auditing"
    rows[2][column(rows, "Section")] = "Model evaluations > Formal methods"
    new = [""] * len(rows[0])
    new[column(rows, "ID")] = "A1200"
    new[column(rows, "Name")] = "Tabletop drills for model incidents"
    new[column(rows, "Source")] = "NIST2024"
    new[column(rows, "airm-preliminary")] = "3.6"
    rows.append(new)
    upload = confirm_upload(upload=preview(author, rows), actor=author, rationale=RATIONALE)
    assert upload.batch is not None, upload.note
    return upload.batch


def states(batch) -> list[str]:
    return list(batch.proposals.order_by("batch_row", "pk").values_list("state", flat=True))


@pytest.fixture
def batch(contributor):
    return make_batch(contributor)


# --------------------------------------------------------------------------- approve all


def test_approving_the_batch_applies_every_proposal_with_its_history(
    batch, contributor, curator, record, other_record
):
    outcome = workflow.proposal_batch_approve(batch=batch, actor=curator, note="Well sourced")

    assert (len(outcome.decided), outcome.waiting, outcome.sent_back, outcome.refused) == (
        4,
        [],
        [],
        [],
    )
    assert states(batch) == [State.APPROVED] * 4
    record.refresh_from_db()
    other_record.refresh_from_db()
    assert record.name == "Adversarial training on attack prompts"
    assert record.classifications.get(taxonomy__slug="airm-preliminary").node == node("3.1")
    assert other_record.section_path == "Model evaluations > Formal methods"
    created = Mitigation.objects.get(number=1200)
    assert created.name == "Tabletop drills for model incidents"
    edit = batch.proposals.get(kind=ProposalKind.EDIT, mitigation=record)
    latest = record.history.latest()
    assert (latest.history_user, latest.history_ref) == (curator, f"proposal:{edit.pk}")
    assert latest.history_change_reason == (
        f"{RATIONALE} (proposal #{edit.pk} by Cora, approved by Cecil)"
    )
    for proposal in batch.proposals.all():
        assert proposal.decided_by == curator
        assert proposal.events.filter(action="approved", note="Well sourced").exists()


def test_a_proposal_whose_record_changed_goes_back_and_the_others_are_applied(
    batch, curator, admin, record
):
    services.mitigation_update(
        mitigation=record, data={"name": "Renamed by an admin"}, actor=admin, reason="Typo"
    )

    outcome = workflow.proposal_batch_approve(batch=batch, actor=curator)

    ((sent_back, message),) = outcome.sent_back
    assert (sent_back.kind, sent_back.mitigation) == (ProposalKind.EDIT, record)
    assert "The record changed since this proposal was made, in name." in message
    assert len(outcome.decided) == 3
    sent_back.refresh_from_db()
    assert sent_back.state == State.CHANGES_REQUESTED
    assert sent_back.events.filter(action="sent_back").exists()
    record.refresh_from_db()
    assert record.name == "Renamed by an admin"  # the stale edit was not applied
    assert record.classifications.get(taxonomy__slug="airm-preliminary").node == node("3.1")


def test_with_two_approvals_required_each_curator_approves_the_batch_once(
    batch, curator, other_curator, settings
):
    settings.REVIEW_REQUIRED_APPROVALS = 2
    history = history_total()

    first = workflow.proposal_batch_approve(batch=batch, actor=curator)

    assert (first.decided, len(first.waiting)) == ([], 4)
    assert {(w.approvals, w.required) for w in first.waiting} == {(1, 2)}
    assert states(batch) == [State.SUBMITTED] * 4
    assert history_total() == history
    again = workflow.proposal_batch_approve(batch=batch, actor=curator)
    assert [message for _, message in again.refused] == [
        "You have already approved this revision."
    ] * 4
    assert ProposalApproval.objects.count() == 4

    second = workflow.proposal_batch_approve(batch=batch, actor=other_curator)

    assert len(second.decided) == 4
    assert states(batch) == [State.APPROVED] * 4


def test_only_proposals_awaiting_review_are_decided(batch, contributor, curator, other_curator):
    first, second, third, fourth = batch.proposals.order_by("batch_row", "pk")
    workflow.proposal_reject(proposal=first, actor=other_curator, note="Not in the source")
    workflow.proposal_withdraw(proposal=second, actor=contributor)

    outcome = workflow.proposal_batch_approve(batch=batch, actor=curator)

    assert [p.pk for p in outcome.decided] == [third.pk, fourth.pk]
    assert states(batch) == [State.REJECTED, State.WITHDRAWN, State.APPROVED, State.APPROVED]
    first.refresh_from_db()
    assert first.decided_by == other_curator


def test_a_batch_with_nothing_awaiting_review_is_a_wrong_state(batch, curator, other_curator):
    workflow.proposal_batch_reject(batch=batch, actor=other_curator, note="Out of scope")
    events = ProposalEvent.objects.count()

    for decide in (
        workflow.proposal_batch_approve,
        workflow.proposal_batch_reject,
        workflow.proposal_batch_request_changes,
    ):
        with pytest.raises(workflow.WrongState, match="No proposal of this batch awaits"):
            decide(batch=batch, actor=curator, note="Again")

    assert ProposalEvent.objects.count() == events


def test_nobody_decides_their_own_batch(curator, other_curator):
    own = make_batch(curator)

    for decide in (
        workflow.proposal_batch_approve,
        workflow.proposal_batch_reject,
        workflow.proposal_batch_request_changes,
    ):
        with pytest.raises(workflow.NotAllowed, match="Nobody decides their own proposals"):
            decide(batch=own, actor=curator, note="Mine")
    assert states(own) == [State.SUBMITTED] * 4

    workflow.proposal_batch_approve(batch=own, actor=other_curator)
    assert states(own) == [State.APPROVED] * 4


@pytest.mark.parametrize("who", ["contributor", "other_contributor"])
def test_contributors_cannot_decide_a_batch(who, request, batch):
    with pytest.raises(workflow.NotAllowed, match="Only curators can decide proposals"):
        workflow.proposal_batch_approve(batch=batch, actor=request.getfixturevalue(who))
    assert states(batch) == [State.SUBMITTED] * 4


# --------------------------------------------------------------------------- reject, send back


def test_rejecting_the_batch_needs_a_note_and_then_rejects_every_proposal(batch, curator, record):
    with pytest.raises(ValidationError, match="Say why the proposals are rejected"):
        workflow.proposal_batch_reject(batch=batch, actor=curator, note=" ")
    assert states(batch) == [State.SUBMITTED] * 4

    outcome = workflow.proposal_batch_reject(
        batch=batch, actor=curator, note="These belong to a newer edition we do not cover."
    )

    assert len(outcome.decided) == 4
    assert states(batch) == [State.REJECTED] * 4
    assert set(batch.proposals.values_list("decision_note", flat=True)) == {
        "These belong to a newer edition we do not cover."
    }
    record.refresh_from_db()
    assert record.name == "Adversarial training"
    assert not Mitigation.objects.filter(number=1200).exists()


def test_requesting_changes_on_the_batch_sends_every_proposal_back(batch, contributor, curator):
    with pytest.raises(ValidationError, match="Say what should change"):
        workflow.proposal_batch_request_changes(batch=batch, actor=curator, note="")

    workflow.proposal_batch_request_changes(
        batch=batch, actor=curator, note="Quote the passage of the source for each."
    )

    assert states(batch) == [State.CHANGES_REQUESTED] * 4
    # Each comes back to the author, who answers them one by one as usual.
    edit = batch.proposals.get(kind=ProposalKind.EDIT, mitigation__number=9001)
    workflow.proposal_resubmit(proposal=edit, actor=contributor, note="Quoted on page 4.")
    assert workflow.proposal_batch_approve(batch=batch, actor=curator).decided == [edit]


# --------------------------------------------------------------------------- email


def test_the_author_gets_one_email_for_a_batch_decision(
    batch, contributor, curator, admin, record, mailoutbox, django_capture_on_commit_callbacks
):
    services.mitigation_update(
        mitigation=record, data={"name": "Renamed by an admin"}, actor=admin, reason="Typo"
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.proposal_batch_approve(batch=batch, actor=curator)

    (message,) = mailoutbox
    assert message.to == [contributor.email]
    assert message.subject == f"[AIRM Curator] Batch #{batch.pk} approved: proposals.csv"
    edit = batch.proposals.get(kind=ProposalKind.EDIT, mitigation=record)
    assert "3 proposals were approved and applied" in message.body
    assert "1 came back to you because their record changed" in message.body
    assert edit.get_absolute_url() in message.body
    assert batch.get_absolute_url() in message.body


def test_a_batch_decision_sends_nothing_to_an_author_who_turned_it_off(
    batch, contributor, curator, mailoutbox, django_capture_on_commit_callbacks
):
    from review.accounts import profile_update

    profile_update(
        user=contributor, display_name="", email_on_submission=True, email_on_my_proposals=False
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.proposal_batch_reject(batch=batch, actor=curator, note="No")
    assert mailoutbox == []


# --------------------------------------------------------------------------- what the page offers


def test_the_batch_actions_follow_the_rules(batch, contributor, curator, other_curator, settings):
    from review import selectors

    def offered(user):
        counts = selectors.proposal_batch_counts(batch, user)
        return [
            a.label
            for a in workflow.batch_available_actions(
                batch, user, in_review=counts.in_review, awaiting_user=counts.awaiting_user
            )
        ]

    everything = ["Approve all", "Request changes on all", "Reject all"]
    assert offered(curator) == everything
    assert offered(contributor) == []
    settings.REVIEW_REQUIRED_APPROVALS = 2
    workflow.proposal_batch_approve(batch=batch, actor=curator)
    assert offered(curator) == ["Request changes on all", "Reject all"]  # approved them all
    assert offered(other_curator) == everything
    workflow.proposal_batch_approve(batch=batch, actor=other_curator)
    assert offered(curator) == offered(other_curator) == []  # nothing awaits review


# --------------------------------------------------------------------------- a real race


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_curators_approving_a_batch_at_once_apply_each_proposal_exactly_once(
    contributor, curator, other_curator, upload_dir
):
    """Two real PostgreSQL connections approve the same batch behind a barrier."""
    if connection.vendor != "postgresql":
        pytest.skip("needs two concurrent PostgreSQL connections (SQLite serialises writers)")
    rows = [MIT_MITIGATION_HEADER] + [
        [f"A{1300 + n}", f"Drill scenario {n}", "", "NIST2024", "3.6"] for n in range(6)
    ]
    batch = confirm_upload(
        upload=preview(contributor, rows), actor=contributor, rationale=RATIONALE
    ).batch
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def approve(user):
        try:
            barrier.wait(timeout=10)
            results[user.username] = workflow.proposal_batch_approve(batch=batch, actor=user)
        except workflow.WorkflowError as error:
            results[user.username] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (curator, other_curator)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    outcomes = list(results.values())
    applied = [p.pk for o in outcomes if isinstance(o, workflow.BatchOutcome) for p in o.decided]
    assert sorted(applied) == sorted(batch.proposals.values_list("pk", flat=True)), outcomes
    for outcome in outcomes:
        if isinstance(outcome, workflow.BatchOutcome):
            assert all("already approved and applied" in m for _, m in outcome.refused)
    assert states(batch) == [State.APPROVED] * 6
    assert Mitigation.objects.filter(number__range=(1300, 1305)).count() == 6
    assert ProposalEvent.objects.filter(proposal__batch=batch, action="applied").count() == 6
    assert Classification.objects.filter(mitigation__number__range=(1300, 1305)).count() == 6
    assert Proposal.objects.filter(batch=batch, approvals__isnull=False).distinct().count() == 6
