"""Who may upload, see, confirm, cancel and decide: each rule, and each view for every persona
(allowed, 403, 404, 405, wrong state)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from catalog.models import Job
from review import bulk, permissions, workflow
from review.models import Proposal, ProposalBatch, ProposalState, ProposalUpload, UploadStatus
from tests.review.bulk_files import confirm_upload

from .bulk_files import column, csv_file, exported_rows, preview

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("upload_dir")]

CURATORS = {"curator", "other_curator", "admin"}  # the test admin is a superuser: a curator
RATIONALE = "Aligned with the current editions of the sources."


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def sheet():
    rows = exported_rows(9001, 9002)
    rows[1][column(rows, "Name")] = "Adversarial training on attack prompts"
    rows[2][column(rows, "Section")] = "Model evaluations > Formal methods"
    return rows


@pytest.fixture
def upload(contributor):
    """The contributor's previewed upload (two proposals)."""
    return preview(contributor, sheet())


@pytest.fixture
def batch(upload, contributor):
    return confirm_upload(upload=upload, actor=contributor, rationale=RATIONALE).batch


# --------------------------------------------------------------------------- the rules


def test_the_rules_say_why(contributor, other_contributor, curator, admin, upload, anonymous):
    assert permissions.can_upload(contributor)
    assert permissions.can_upload(anonymous).reason == (
        "Sign in to propose changes from a spreadsheet."
    )
    assert permissions.can_view_upload(contributor, upload)
    assert permissions.can_view_upload(admin, upload)
    assert permissions.can_view_upload(curator, upload).reason == (
        "This upload is visible to the person who uploaded it only."
    )
    assert permissions.can_confirm_upload(contributor, upload)
    assert permissions.can_confirm_upload(admin, upload).reason == (
        "Only the person who uploaded this file can confirm it."
    )
    assert permissions.can_cancel_upload(other_contributor, upload).reason == (
        "Only the person who uploaded this file can cancel it."
    )


def test_the_batch_rules_say_why(contributor, curator, batch, anonymous):
    assert permissions.can_decide_batch(curator, batch)
    assert permissions.can_decide_batch(contributor, batch).reason == (
        "Only curators can decide proposals."
    )
    assert not permissions.can_decide_batch(anonymous, batch)
    own = ProposalBatch(created_by=curator, title="x")
    assert permissions.can_decide_batch(curator, own).reason == (
        "Nobody decides their own proposals: another curator must review this batch."
    )


def test_an_inactive_account_cannot_upload(contributor):
    contributor.is_active = False
    with pytest.raises(workflow.NotAllowed):
        preview(contributor, sheet())
    assert not ProposalUpload.objects.exists()


# --------------------------------------------------------------------------- the upload page


def test_the_upload_page_for_each_persona(persona, client_for):
    _, user = persona
    response = client_for(user).get(reverse("review:upload"))
    if user is None:
        assert login_redirect(response)
    else:
        assert response.status_code == 200
        assert "Upload and preview" in response.text


def test_uploading_for_each_persona(persona, client_for):
    _, user = persona
    response = client_for(user).post(reverse("review:upload"), {"file": csv_file(sheet())})
    if user is None:
        assert login_redirect(response)
        assert not ProposalUpload.objects.exists()
        return
    upload = ProposalUpload.objects.get()
    assert (upload.created_by, upload.status) == (user, UploadStatus.PREVIEWED)
    assert response["Location"] == upload.get_absolute_url()


def test_an_upload_without_the_csrf_token_is_refused(contributor):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(contributor)
    response = client.post(reverse("review:upload"), {"file": csv_file(sheet())})
    assert response.status_code == 403
    assert not ProposalUpload.objects.exists()


def test_the_upload_page_takes_no_other_method(client_for, contributor):
    assert client_for(contributor).put(reverse("review:upload")).status_code == 405


# --------------------------------------------------------------------------- an upload's pages


def test_the_preview_for_each_persona(persona, client_for, upload):
    name, user = persona
    response = client_for(user).get(upload.get_absolute_url())
    if user is None:
        assert login_redirect(response)
    elif name == "contributor":
        assert response.status_code == 200
        assert "Confirm and submit for review" in response.text
        assert "Cancel and delete the upload" in response.text
    elif name == "admin":
        assert response.status_code == 200
        assert "Confirm and submit for review" not in response.text
        assert "Only Cora, who uploaded this file, can confirm or cancel it." in response.text
    else:
        assert response.status_code == 404


def test_confirming_for_each_persona(persona, client_for, upload, run_tasks):
    name, user = persona
    url = reverse("review:upload-confirm", args=[upload.pk])
    response = client_for(user).post(url, {"rationale": RATIONALE})
    upload.refresh_from_db()
    if user is None:
        assert login_redirect(response)
    elif name == "contributor":
        assert upload.status == UploadStatus.CONFIRMING  # answered at once, proposed in a task
        assert response["Location"] == Job.objects.get().get_absolute_url()
        assert run_tasks() == 1
        upload.refresh_from_db()
        assert upload.status == UploadStatus.PROPOSED
        assert Job.objects.get().result["url"] == upload.batch.get_absolute_url()
        return
    elif name == "admin":
        assert response.status_code == 403
        assert "Only the person who uploaded this file can confirm it." in response.text
    else:
        assert response.status_code == 404
    assert upload.status == UploadStatus.PREVIEWED
    assert not Proposal.objects.exists()


def test_cancelling_for_each_persona(persona, client_for, upload):
    name, user = persona
    response = client_for(user).post(reverse("review:upload-cancel", args=[upload.pk]))
    upload.refresh_from_db()
    if user is None:
        assert login_redirect(response)
    elif name == "contributor":
        assert response["Location"] == reverse("review:upload")
        assert upload.status == UploadStatus.CANCELLED
        return
    elif name == "admin":
        assert response.status_code == 403
    else:
        assert response.status_code == 404
    assert upload.status == UploadStatus.PREVIEWED


@pytest.mark.parametrize("url_name", ["review:upload-confirm", "review:upload-cancel"])
def test_upload_actions_are_not_reachable_by_get(url_name, persona, client_for, upload):
    _, user = persona
    response = client_for(user).get(reverse(url_name, args=[upload.pk]))
    assert response.status_code == 405
    upload.refresh_from_db()
    assert upload.status == UploadStatus.PREVIEWED


def test_the_pages_of_an_upload_and_a_batch_take_no_post(client_for, contributor, curator, batch):
    upload_page = client_for(contributor).post(batch.upload.get_absolute_url())
    batch_page = client_for(curator).post(batch.get_absolute_url())
    assert (upload_page.status_code, batch_page.status_code) == (405, 405)


@pytest.mark.parametrize(
    "url_name", ["review:upload-detail", "review:upload-confirm", "review:upload-cancel"]
)
def test_an_unknown_upload_is_404(url_name, client_for, contributor):
    client = client_for(contributor)
    url = reverse(url_name, args=[999_999])
    response = client.get(url) if url_name == "review:upload-detail" else client.post(url)
    assert response.status_code == 404


@pytest.mark.parametrize("url_name", ["review:upload-confirm", "review:upload-cancel"])
def test_upload_actions_in_a_wrong_state_say_why_and_change_nothing(
    url_name, client_for, contributor, batch
):
    upload = batch.upload
    response = client_for(contributor).post(
        reverse(url_name, args=[upload.pk]), {"rationale": RATIONALE}
    )
    assert response["Location"] == upload.get_absolute_url()
    assert messages_of(response) == [
        f"This upload is already proposed, as batch #{batch.pk}; nothing more was done."
    ]
    assert ProposalBatch.objects.count() == 1
    upload.refresh_from_db()
    assert upload.status == UploadStatus.PROPOSED


def test_a_stale_confirm_says_why_on_the_preview(
    client_for, contributor, admin, upload, record, run_tasks
):
    from catalog import services

    services.mitigation_update(
        mitigation=record, data={"definition": "Changed meanwhile."}, actor=admin, reason="x"
    )
    client = client_for(contributor)
    response = client.post(
        reverse("review:upload-confirm", args=[upload.pk]), {"rationale": RATIONALE}
    )
    job = Job.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert run_tasks() == 1
    job.refresh_from_db()
    assert job.result == {
        "lines": [["error", bulk.STALE_MESSAGE]],
        "url": upload.get_absolute_url(),
        "link": "Back to the upload",
    }
    assert bulk.STALE_MESSAGE in client.get(job.get_absolute_url()).text
    assert bulk.STALE_MESSAGE in client.get(upload.get_absolute_url()).text
    assert not ProposalBatch.objects.exists()


# --------------------------------------------------------------------------- the batch page


BATCH_ACTIONS = [
    # url name, form data, the state afterwards
    ("review:batch-approve", {}, ProposalState.APPROVED),
    ("review:batch-reject", {"note": "Out of scope"}, ProposalState.REJECTED),
    ("review:batch-request-changes", {"note": "Quote"}, ProposalState.CHANGES_REQUESTED),
]


def batch_states(batch) -> set[str]:
    return set(batch.proposals.values_list("state", flat=True))


def test_the_batch_page_for_each_persona(persona, client_for, batch):
    name, user = persona
    response = client_for(user).get(batch.get_absolute_url())
    assert response.status_code == 200
    assert RATIONALE in response.text
    assert "Edit of A9001" in response.text and "Edit of A9002" in response.text
    labels = [action.label for action in response.context["actions"]]
    if name in CURATORS:
        assert labels == ["Approve all", "Request changes on all", "Reject all"]
        assert ">Approve all…</button>" in response.text
    else:
        assert labels == []
        assert ">Approve all…</button>" not in response.text


def test_an_unknown_batch_is_404(client_for, curator):
    assert client_for(curator).get(reverse("review:batch-detail", args=[999])).status_code == 404


@pytest.mark.parametrize(("url_name", "data", "after"), BATCH_ACTIONS)
def test_batch_decisions_for_each_persona(
    url_name, data, after, persona, client_for, batch, run_tasks
):
    name, user = persona
    response = client_for(user).post(reverse(url_name, args=[batch.pk]), data)
    if user is None:
        assert login_redirect(response)
        assert batch_states(batch) == {ProposalState.SUBMITTED}
    elif name in CURATORS:
        job = Job.objects.get(subject=f"proposal-batch:{batch.pk}")
        assert response["Location"] == job.get_absolute_url()  # answered at once
        assert batch_states(batch) == {ProposalState.SUBMITTED}
        assert run_tasks() == 1
        assert batch_states(batch) == {after}
        job.refresh_from_db()
        assert job.result["lines"][0][1].endswith(
            "2 proposals awaiting review."
            if url_name == "review:batch-approve"
            else ("the author sees your note." if "reject" in url_name else "with your note.")
        )
    else:
        assert response.status_code == 403
        assert "Only curators can decide proposals." in response.text
        assert batch_states(batch) == {ProposalState.SUBMITTED}


@pytest.mark.parametrize(("url_name", "data", "after"), BATCH_ACTIONS)
def test_a_curator_cannot_decide_their_own_batch_in_the_page(
    url_name, data, after, client_for, curator
):
    own = confirm_upload(upload=preview(curator, sheet()), actor=curator, rationale=RATIONALE).batch
    client = client_for(curator)
    assert client.get(own.get_absolute_url()).context["actions"] == []
    response = client.post(reverse(url_name, args=[own.pk]), data)
    assert response.status_code == 403
    assert "Nobody decides their own proposals" in response.text
    assert batch_states(own) == {ProposalState.SUBMITTED}


@pytest.mark.parametrize(("url_name", "data", "after"), BATCH_ACTIONS)
def test_batch_decisions_are_not_reachable_by_get(
    url_name, data, after, persona, client_for, batch
):
    name, user = persona
    response = client_for(user).get(reverse(url_name, args=[batch.pk]), data)
    if url_name != "review:batch-approve":
        assert response.status_code == 405
    elif user is None:  # GET on "approve" is its confirmation step, for curators only
        assert login_redirect(response)
    elif name in CURATORS:
        assert response.status_code == 200
        assert "Yes, approve all 2" in response.text
    else:
        assert response.status_code == 403
    assert batch_states(batch) == {ProposalState.SUBMITTED}
    assert not Job.objects.filter(subject=f"proposal-batch:{batch.pk}").exists()


@pytest.mark.parametrize(("url_name", "data", "after"), BATCH_ACTIONS)
def test_batch_decisions_on_an_unknown_batch_are_404(url_name, data, after, client_for, curator):
    assert client_for(curator).post(reverse(url_name, args=[999_999]), data).status_code == 404


@pytest.mark.parametrize(("url_name", "data", "after"), BATCH_ACTIONS)
def test_batch_decisions_in_a_wrong_state_say_why_and_change_nothing(
    url_name, data, after, client_for, batch, curator, other_curator
):
    workflow.proposal_batch_approve(batch=batch, actor=other_curator)
    response = client_for(curator).post(reverse(url_name, args=[batch.pk]), data)
    assert response["Location"] == batch.get_absolute_url()
    (message,) = messages_of(response)
    assert message.startswith("No proposal of this batch awaits a decision now")
    assert batch_states(batch) == {ProposalState.APPROVED}


@pytest.mark.parametrize("url_name", ["review:batch-reject", "review:batch-request-changes"])
def test_rejecting_or_sending_back_a_batch_without_a_note_changes_nothing(
    url_name, client_for, batch, curator
):
    response = client_for(curator).post(reverse(url_name, args=[batch.pk]), {"note": ""})
    (message,) = messages_of(response)
    assert message.endswith("Nothing was changed.")
    assert batch_states(batch) == {ProposalState.SUBMITTED}
