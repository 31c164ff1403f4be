"""Confirming a preview: one batch of submitted proposals, exactly as previewed, or nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from catalog import services
from catalog.models import Mitigation, SourceDocument
from review import bulk, workflow
from review.models import (
    Proposal,
    ProposalBatch,
    ProposalEvent,
    ProposalKind,
    ProposalState,
    ProposalUpload,
    UploadStatus,
)
from tests.factories import MitigationFactory
from tests.review.bulk_files import confirm_upload
from tests.spreadsheets import catalog_state, history_total

from .bulk_files import (
    MIT_MITIGATION_HEADER,
    NEW_DEFINITION,
    NEW_NAME,
    column,
    exported_rows,
    preview,
)
from .conftest import node

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("upload_dir")]

RATIONALE = "Corrections agreed at the evaluation workshop; sources checked page by page."


def edited_export():
    """A9001 renamed and moved to 3.1 with a new reasoning; A9002's draft node removed; A9003
    unchanged; a new row without an ID."""
    rows = exported_rows(9001, 9002, 9003)
    rows[1][column(rows, "Name")] = "Adversarial training on attack prompts"
    rows[1][column(rows, "Section")] = "Model development > Robustness"
    rows[1][column(rows, "airm-preliminary")] = "3.1 Testing & Auditing"
    rows[1][column(rows, "airm-preliminary reasoning")] = "Attack prompts are a kind of test."
    rows[2][column(rows, "airm-draft")] = ""
    rows[2][column(rows, "airm-draft reasoning")] = ""
    new = [""] * len(rows[0])
    new[column(rows, "Name")] = NEW_NAME
    new[column(rows, "Definition")] = NEW_DEFINITION
    new[column(rows, "Source")] = "Gipiškis2024"
    new[column(rows, "airm-preliminary")] = "4.1 System Documentation"
    new[column(rows, "airm-preliminary reasoning")] = "Documents the system's changes."
    rows.append(new)
    return rows


def confirmed(user, rows, rationale=RATIONALE):
    upload = preview(user, rows)
    assert upload.status == UploadStatus.PREVIEWED, (upload.problems, upload.summary)
    return confirm_upload(upload=upload, actor=user, rationale=rationale)


def test_confirming_submits_one_proposal_per_change_in_one_batch(
    contributor, record, other_record, upload_dir
):
    state, history = catalog_state(), history_total()

    upload = confirmed(contributor, edited_export())

    assert upload.status == UploadStatus.PROPOSED
    batch = upload.batch
    assert (batch.title, batch.created_by, batch.rationale) == (
        "proposals.csv",
        contributor,
        RATIONALE,
    )
    proposals = list(batch.proposals.order_by("batch_row", "pk"))
    assert [(p.batch_row, p.kind, p.mitigation_id) for p in proposals] == [
        (2, ProposalKind.EDIT, record.pk),
        (2, ProposalKind.RECLASSIFY, record.pk),
        (3, ProposalKind.RECLASSIFY, other_record.pk),
        (5, ProposalKind.NEW, None),
    ]
    edit, reclassify, removal, new = proposals
    assert edit.changes == {
        "name": "Adversarial training on attack prompts",
        "section_path": "Model development > Robustness",
    }
    assert edit.base == {
        "name": "Adversarial training",
        "section_path": "Model development",
        "status": "active",
    }
    assert (reclassify.taxonomy.slug, reclassify.changes) == (
        "airm-preliminary",
        {"placements": [[node("3.1").pk, "Attack prompts are a kind of test."]]},
    )
    assert reclassify.base["status"] == "active"
    assert (removal.taxonomy.slug, removal.changes) == ("airm-draft", {"placements": []})
    assert new.changes == {
        "name": NEW_NAME,
        "definition": NEW_DEFINITION,
        "source": SourceDocument.objects.get(short_ref="Gipiškis2024").pk,
        "section_path": "",
        "placements": [[node("4.1").pk, "Documents the system's changes."]],
    }
    for proposal in proposals:
        assert (proposal.state, proposal.author, proposal.rationale) == (
            ProposalState.SUBMITTED,
            contributor,
            RATIONALE,
        )
        assert proposal.submitted_at is not None
        assert list(proposal.events.values_list("action", flat=True)) == ["created", "submitted"]
    assert (catalog_state(), history_total()) == (state, history)  # nothing applied yet
    assert list(upload_dir.iterdir()) == []
    assert upload.stored_file == ""
    assert upload.note == f"Proposed as batch #{batch.pk}: 4 proposals."


def test_an_mit_sheet_keeps_new_ids_and_leaves_unmentioned_reasonings_alone(contributor, record):
    rows = [
        MIT_MITIGATION_HEADER,
        ["A1200_Example2025", "Tabletop drills for model incidents", "", "NIST2024", "3.6"],
        [
            "A9001_Gipiškis2024",
            "Adversarial training with attack prompts",
            record.definition,
            "Gipiškis2024",
            "2.3",
        ],
    ]
    batch = confirmed(contributor, rows).batch

    # A9001 stays at 2.3 and MIT's file has no reasoning column: its reasoning there is kept,
    # so the row proposes the new name only, not a reclassification.
    new, edit = batch.proposals.order_by("batch_row", "pk")
    assert (new.kind, new.changes["number"], new.changes["placements"]) == (
        ProposalKind.NEW,
        1200,
        [[node("3.6").pk, ""]],
    )
    assert (edit.kind, edit.changes) == (
        ProposalKind.EDIT,
        {"name": "Adversarial training with attack prompts"},
    )


def test_a_new_node_without_a_reasoning_column_starts_without_reasoning(contributor, record):
    rows = [
        MIT_MITIGATION_HEADER,
        [record.public_id, record.name, record.definition, record.source.short_ref, "3.1"],
    ]
    (proposal,) = confirmed(contributor, rows).batch.proposals.all()

    assert proposal.changes == {"placements": [[node("3.1").pk, ""]]}


def test_the_rationale_is_required_and_nothing_happens_without_it(contributor, upload_dir):
    upload = preview(contributor, edited_export())

    with pytest.raises(ValidationError) as error:
        confirm_upload(upload=upload, actor=contributor, rationale="  ")

    assert "rationale" in error.value.message_dict
    upload.refresh_from_db()
    assert upload.status == UploadStatus.PREVIEWED
    assert len(list(upload_dir.iterdir())) == 1
    assert not ProposalBatch.objects.exists()


@pytest.mark.parametrize("who", ["other_contributor", "curator", "admin"])
def test_only_the_uploader_confirms_or_cancels(who, request, contributor):
    upload = preview(contributor, edited_export())
    someone = request.getfixturevalue(who)

    with pytest.raises(workflow.NotAllowed, match="Only the person who uploaded this file"):
        confirm_upload(upload=upload, actor=someone, rationale=RATIONALE)
    with pytest.raises(workflow.NotAllowed, match="Only the person who uploaded this file"):
        bulk.proposal_upload_cancel(upload=upload, actor=someone)

    upload.refresh_from_db()
    assert upload.status == UploadStatus.PREVIEWED
    assert not Proposal.objects.exists()


def test_a_catalog_changed_since_the_preview_refuses_the_confirm(
    contributor, admin, record, upload_dir
):
    upload = preview(contributor, edited_export())
    services.mitigation_update(
        mitigation=record, data={"name": "Renamed meanwhile"}, actor=admin, reason="Typo"
    )

    upload = confirm_upload(upload=upload, actor=contributor, rationale=RATIONALE)

    assert (upload.status, upload.note) == (UploadStatus.FAILED, bulk.STALE_MESSAGE)
    assert not ProposalBatch.objects.exists() and not Proposal.objects.exists()
    assert list(upload_dir.iterdir()) == []


def test_a_record_added_meanwhile_does_not_stale_a_row_without_an_id(contributor):
    upload = preview(contributor, edited_export())
    MitigationFactory()  # takes the number the new row showed in the preview

    upload = confirm_upload(upload=upload, actor=contributor, rationale=RATIONALE)

    assert upload.status == UploadStatus.PROPOSED
    new = upload.batch.proposals.get(kind=ProposalKind.NEW)
    assert "number" not in new.changes  # its public ID is given when it is approved


def test_an_error_appearing_since_the_preview_refuses_the_confirm(contributor, admin):
    rows = exported_rows(9001)
    rows[1][column(rows, "Name")] = "Renamed in the sheet"
    upload = preview(contributor, rows)
    services.mitigation_retire(
        mitigation=Mitigation.objects.get(number=9001), actor=admin, reason="Not a mitigation"
    )

    upload = confirm_upload(upload=upload, actor=contributor, rationale=RATIONALE)

    assert upload.status == UploadStatus.FAILED
    assert upload.note == "1 rows have errors now. Upload the file again to see them."
    assert not Proposal.objects.exists()


def test_a_confirmed_upload_cannot_be_confirmed_or_cancelled_again(contributor):
    upload = confirmed(contributor, edited_export())

    with pytest.raises(workflow.WrongState, match=f"already proposed, as batch #{upload.batch_id}"):
        confirm_upload(upload=upload, actor=contributor, rationale=RATIONALE)
    with pytest.raises(workflow.WrongState, match="already proposed"):
        bulk.proposal_upload_cancel(upload=upload, actor=contributor)
    assert ProposalBatch.objects.count() == 1


def test_cancelling_deletes_the_file_and_ends_the_preview(contributor, upload_dir):
    upload = preview(contributor, edited_export())

    upload = bulk.proposal_upload_cancel(upload=upload, actor=contributor)

    assert (upload.status, upload.note) == (UploadStatus.CANCELLED, "Cancelled by the uploader.")
    assert list(upload_dir.iterdir()) == []
    with pytest.raises(workflow.WrongState, match="cancelled"):
        confirm_upload(upload=upload, actor=contributor, rationale=RATIONALE)


def test_a_lost_file_fails_the_confirm_with_the_reason(contributor, upload_dir):
    upload = preview(contributor, edited_export())
    (upload_dir / upload.stored_file).unlink()

    upload = confirm_upload(upload=upload, actor=contributor, rationale=RATIONALE)

    assert (upload.status, upload.note) == (
        UploadStatus.FAILED,
        "The uploaded file is gone; upload it again.",
    )


def test_curators_hear_of_a_batch_once_after_the_commit(
    contributor, curator, other_curator, mailoutbox, django_capture_on_commit_callbacks
):
    upload = preview(contributor, edited_export())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        upload = confirm_upload(upload=upload, actor=contributor, rationale=RATIONALE)
    assert mailoutbox == []
    for callback in callbacks:
        callback()

    recipients = [m.to[0] for m in mailoutbox]
    assert {curator.email, other_curator.email} <= set(recipients)
    assert contributor.email not in recipients
    assert len(recipients) == len(set(recipients))  # one email each, not one per proposal
    message = mailoutbox[0]
    assert message.subject == (
        f"[AIRM Curator] Batch #{upload.batch_id} submitted: 4 proposals from proposals.csv"
    )
    assert upload.batch.get_absolute_url() in message.body
    assert RATIONALE in message.body


# --------------------------------------------------------------------------- atomicity


def test_a_batch_is_created_whole_or_not_at_all(contributor, record, other_record):
    items = [
        workflow.BatchItem(ProposalKind.EDIT, {"name": "A better name"}, record, row=2),
        workflow.BatchItem(
            ProposalKind.EDIT, {"name": other_record.name}, other_record, row=3, where="Row 3"
        ),
    ]
    events = ProposalEvent.objects.count()

    with pytest.raises(ValidationError) as error:
        workflow.proposal_batch_create(
            author=contributor, title="edits.csv", rationale=RATIONALE, items=items
        )

    assert error.value.messages == [
        "Row 3: Change at least one field: this is what the record says now."
    ]
    assert not ProposalBatch.objects.exists()
    assert not Proposal.objects.exists()
    assert ProposalEvent.objects.count() == events


def test_a_batch_needs_a_rationale_and_a_proposal(contributor, record):
    item = workflow.BatchItem(ProposalKind.EDIT, {"name": "A better name"}, record, row=2)
    with pytest.raises(ValidationError, match="the note goes with every one"):
        workflow.proposal_batch_create(author=contributor, title="x", rationale="", items=[item])
    with pytest.raises(ValidationError, match="at least one proposal"):
        workflow.proposal_batch_create(author=contributor, title="x", rationale="Why", items=[])
    assert not ProposalBatch.objects.exists()


# --------------------------------------------------------------------------- a new record's ID


def test_a_public_id_taken_before_approval_sends_the_proposal_back(
    contributor, curator, client_for
):
    rows = [MIT_MITIGATION_HEADER, ["A1200", "Tabletop drills", "", "NIST2024", "3.6"]]
    (proposal,) = confirmed(contributor, rows).batch.proposals.all()
    services.mitigation_create(
        name="Someone else's record",
        source=SourceDocument.objects.get(short_ref="NIST2024"),
        number=1200,
        actor=None,
        reason="Imported",
    )

    with pytest.raises(workflow.StaleBase) as error:
        workflow.proposal_approve(proposal=proposal, actor=curator)

    assert [c.label for c in error.value.conflicts] == ["Public ID"]
    proposal.refresh_from_db()
    assert proposal.state == ProposalState.CHANGES_REQUESTED
    # The author gives up the ID on the form and resubmits; approval takes the next free one.
    client = client_for(contributor)
    form = client.get(reverse("review:proposal-edit", args=[proposal.pk]))
    assert form.context["form"].initial["public_id"] == "A1200"
    response = client.post(
        reverse("review:proposal-edit", args=[proposal.pk]),
        {
            "public_id": "",
            "name": "Tabletop drills",
            "source": SourceDocument.objects.get(short_ref="NIST2024").pk,
            "node_airm_preliminary": node("3.6").pk,
            "rationale": RATIONALE,
            "not_duplicate": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    proposal.refresh_from_db()
    assert "number" not in proposal.changes
    workflow.proposal_resubmit(proposal=proposal, actor=contributor)
    outcome = workflow.proposal_approve(proposal=proposal, actor=curator)
    assert outcome.applied
    assert outcome.proposal.mitigation.number == services.mitigation_next_number() - 1


def test_a_new_proposal_with_its_own_id_is_applied_under_that_id(contributor, curator, client):
    rows = [MIT_MITIGATION_HEADER, ["A1200", "Tabletop drills", "", "NIST2024", "3.6"]]
    (proposal,) = confirmed(contributor, rows).batch.proposals.all()
    page = client.get(proposal.get_absolute_url())
    assert [(row.label, row.proposed) for row in page.context["diff"]][:2] == [
        ("Public ID", "A1200"),
        ("Name", "Tabletop drills"),
    ]

    outcome = workflow.proposal_approve(proposal=proposal, actor=curator)

    created = outcome.proposal.mitigation
    assert (created.public_id, created.name) == ("A1200", "Tabletop drills")
    assert created.classifications.get().node == node("3.6")


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (0, "A public ID is A followed by up to seven digits."),
        ("12", "A public ID is A followed by up to seven digits."),
        (9001, "A9001 is already taken."),
    ],
)
def test_a_new_proposal_refuses_a_bad_or_taken_id(number, message, contributor, record):
    with pytest.raises(ValidationError, match=message):
        workflow.proposal_create(
            kind=ProposalKind.NEW,
            author=contributor,
            rationale="Why",
            changes={"name": "Drills", "source": record.source_id, "number": number},
        )


def test_the_confirm_page_needs_the_rationale_and_then_shows_the_batch(
    client_for, contributor, run_tasks
):
    upload = preview(contributor, edited_export())
    client = client_for(contributor)
    url = reverse("review:upload-confirm", args=[upload.pk])

    response = client.post(url, {"rationale": ""})
    assert response.status_code == 400
    assert "Say why these changes should be made" in response.text
    assert not ProposalBatch.objects.exists()

    response = client.post(url, {"rationale": RATIONALE}, follow=True)
    assert "Waiting for a background worker" in response.text  # the job's page, at once
    assert run_tasks() == 1
    report = client.get(response.redirect_chain[-1][0])
    batch = ProposalBatch.objects.get()
    assert "your 4 proposals are in the review queue as batch" in report.text
    assert f'href="{batch.get_absolute_url()}"' in report.text
    assert ProposalUpload.objects.get().status == UploadStatus.PROPOSED
