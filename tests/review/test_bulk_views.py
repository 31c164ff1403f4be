"""What the pages show about uploads and batches: the queue, the batch page, the report after a
decision, a contributor's uploads; and the query counts of the new pages."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from catalog import services
from catalog.models import Job
from review import workflow
from review.models import ProposalKind
from tests.review.bulk_files import confirm_upload

from .bulk_files import MIT_MITIGATION_HEADER, column, exported_rows, preview
from .conftest import new_proposal

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("upload_dir")]

RATIONALE = "Brought in line with the current editions of the sources."


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def make_batch(author, count: int = 0):
    """A9001 renamed, A9002 re-sectioned, and ``count`` new records."""
    rows = exported_rows(9001, 9002)
    rows[1][column(rows, "Name")] = "Adversarial training on attack prompts"
    rows[2][column(rows, "Section")] = "Model evaluations > Formal methods"
    for n in range(count):
        new = [""] * len(rows[0])
        new[column(rows, "Name")] = f"Drill scenario {n} for incident response"
        new[column(rows, "Source")] = "NIST2024"
        rows.append(new)
    upload = preview(author, rows)
    return confirm_upload(upload=upload, actor=author, rationale=RATIONALE).batch


def test_the_queue_lists_batches_and_filters_by_one(client_for, contributor, curator):
    batch = make_batch(contributor)
    single = new_proposal(contributor, kind=ProposalKind.RETIRE)
    client = client_for(curator)

    page = client.get(reverse("review:queue"))
    assert "Batches awaiting review" in page.text
    assert f'href="{batch.get_absolute_url()}">Batch #{batch.pk}: proposals.csv</a>' in page.text
    assert "2 awaiting review" in page.text
    assert f"batch #{batch.pk}, row 2" in page.text
    assert len(page.context["proposals"]) == 3

    filtered = client.get(reverse("review:queue"), {"batch": batch.pk})
    assert [p.batch_id for p in filtered.context["proposals"]] == [batch.pk, batch.pk]
    assert single not in filtered.context["proposals"]


def test_a_decided_batch_leaves_the_queues_batch_list(client_for, contributor, curator):
    batch = make_batch(contributor)
    workflow.proposal_batch_approve(batch=batch, actor=curator)
    assert "Batches awaiting review" not in client_for(curator).get(reverse("review:queue")).text


def test_a_proposal_page_links_its_batch_and_row(client, contributor):
    batch = make_batch(contributor)
    proposal = batch.proposals.get(batch_row=3)
    page = client.get(proposal.get_absolute_url())
    assert f'href="{batch.get_absolute_url()}">batch #{batch.pk} “proposals.csv”</a>, row 3' in (
        page.text
    )


def test_the_batch_page_lists_proposals_by_row_with_their_states(client, contributor, curator):
    batch = make_batch(contributor)
    first = batch.proposals.get(batch_row=2)
    workflow.proposal_reject(proposal=first, actor=curator, note="No")

    page = client.get(batch.get_absolute_url())

    assert page.context["counts"].in_review == 1
    assert page.context["counts"].rejected == 1
    rows = [(p.batch_row, p.state) for p in page.context["proposals"]]
    assert rows == [(2, "rejected"), (3, "submitted")]
    assert "from a spreadsheet of 2 rows in the layout “AIRM Curator export”" in page.text


def report_of(client, response, run_tasks) -> list[tuple[str, str]]:
    """The report of a batch decision: the POST answers with its job's page at once; a worker
    decides; the page then shows the report's lines."""
    job = Job.objects.latest("pk")
    assert response["Location"] == job.get_absolute_url()
    assert run_tasks() == 1
    job.refresh_from_db()
    page = client.get(job.get_absolute_url()).text
    lines = [(level, text) for level, text in job.result["lines"]]
    for _, text in lines:
        assert escape(text) in page
    return lines


def test_the_report_names_each_proposal_not_applied_and_why(
    client_for, contributor, curator, admin, record, run_tasks
):
    batch = make_batch(contributor)
    services.mitigation_update(
        mitigation=record, data={"name": "Renamed by an admin"}, actor=admin, reason="Typo"
    )
    stale = batch.proposals.get(mitigation=record)

    client = client_for(curator)
    response = client.post(reverse("review:batch-approve", args=[batch.pk]))

    assert report_of(client, response, run_tasks) == [
        ("success", "Approved and applied 1 of the 2 proposals awaiting review."),
        (
            "warning",
            f"#{stale.pk} Edit of A9001: The record changed since this proposal was made, in "
            "name. Nothing was applied; the proposal went back to its author to update.",
        ),
    ]


def test_the_report_says_which_need_more_approvals(
    client_for, contributor, curator, settings, run_tasks
):
    settings.REVIEW_REQUIRED_APPROVALS = 2
    batch = make_batch(contributor)
    ids = ", ".join(f"#{p.pk}" for p in batch.proposals.order_by("batch_row", "pk"))

    client = client_for(curator)
    response = client.post(reverse("review:batch-approve", args=[batch.pk]))

    assert report_of(client, response, run_tasks) == [
        ("success", "Approved and applied 0 of the 2 proposals awaiting review."),
        (
            "info",
            "Your approval is recorded on 2 that need more curators' approvals before they "
            f"apply: {ids}.",
        ),
    ]


def test_a_long_report_is_cut_short_and_points_to_the_list(
    client_for, contributor, curator, other_curator, settings, run_tasks
):
    settings.REVIEW_REQUIRED_APPROVALS = 2
    batch = make_batch(contributor, count=22)
    workflow.proposal_batch_approve(batch=batch, actor=curator)

    client = client_for(curator)
    response = client.post(reverse("review:batch-approve", args=[batch.pk]))

    errors = [text for level, text in report_of(client, response, run_tasks) if level == "error"]
    assert len(errors) == 21
    assert errors[0].endswith(": You have already approved this revision.")
    assert errors[-1] == "… and 4 more: see the batch's list."


def test_approve_all_asks_for_confirmation_first(client_for, contributor, curator, run_tasks):
    batch = make_batch(contributor)
    client = client_for(curator)
    page = client.get(batch.get_absolute_url())
    assert 'method="get" action="/review/batches/' in page.text  # "Approve all…" asks first

    confirm = client.get(reverse("review:batch-approve", args=[batch.pk]), {"note": "Checked"})

    assert confirm.status_code == 200
    assert "Approve all 2 proposals?" in confirm.text
    assert "Yes, approve all 2" in confirm.text and ">Checked</textarea>" in confirm.text
    assert set(batch.proposals.values_list("state", flat=True)) == {"submitted"}
    response = client.post(reverse("review:batch-approve", args=[batch.pk]), {"note": "Checked"})
    # While it runs, the batch page points to it instead of offering the decisions again.
    during = client.get(batch.get_absolute_url())
    assert "A decision on the whole batch is under way" in during.text
    assert ">Approve all…</button>" not in during.text
    again = client.post(reverse("review:batch-reject", args=[batch.pk]), {"note": "No"})
    assert messages_of(again) == [
        (
            "error",
            "A decision on this whole batch is under way already; follow it from the batch's "
            "page. Nothing more was done.",
        )
    ]
    assert report_of(client, response, run_tasks)[0] == (
        "success",
        "Approved and applied 2 of the 2 proposals awaiting review.",
    )
    assert set(batch.proposals.values_list("state", flat=True)) == {"approved"}


def test_my_proposals_lists_my_uploads(client_for, contributor, other_contributor):
    batch = make_batch(contributor)
    failed = preview(contributor, [MIT_MITIGATION_HEADER, ["B1", "x", "", "NIST2024", ""]])
    preview(other_contributor, [MIT_MITIGATION_HEADER, ["", "Theirs", "", "NIST2024", ""]])

    page = client_for(contributor).get(reverse("review:mine"))

    assert [u.pk for u in page.context["uploads"]] == [failed.pk, batch.upload.pk]
    assert f'href="{batch.get_absolute_url()}">batch #{batch.pk}</a>' in page.text
    assert "Propose from a spreadsheet" in page.text


def test_the_new_mitigation_form_points_to_spreadsheets(client_for, contributor):
    page = client_for(contributor).get(reverse("review:propose-new"))
    assert f'href="{reverse("review:upload")}">Propose them from a spreadsheet</a>' in page.text


# --------------------------------------------------------------------------- query counts


def test_the_batch_page_query_count_does_not_grow_with_its_proposals(
    client_for, contributor, curator, django_assert_num_queries
):
    # Session, user, curator check; the batch (with author and upload); the page of proposals
    # (with approval counts), the paginator's count, the counts by state, the overlaps, a
    # decision on the whole batch under way.
    client = client_for(curator)
    small = make_batch(contributor)
    with django_assert_num_queries(9):
        client.get(small.get_absolute_url())
    large = make_batch(contributor, count=30)
    with django_assert_num_queries(9):
        response = client.get(large.get_absolute_url())
    assert len(response.context["proposals"]) == 32


def test_the_batch_page_for_anonymous_visitors_costs_two_queries_less(
    client, contributor, django_assert_num_queries
):
    batch = make_batch(contributor)
    # No session and no user to read: the batch, the page, the count, the states, the overlaps.
    with django_assert_num_queries(5):
        client.get(batch.get_absolute_url())


def test_the_upload_form_page_query_count(client_for, contributor, django_assert_num_queries):
    # Session, user, curator check (navigation).
    client = client_for(contributor)
    with django_assert_num_queries(3):
        client.get(reverse("review:upload"))


def test_my_proposals_query_count_does_not_grow_with_uploads(
    client_for, contributor, django_assert_num_queries
):
    # Session, user, curator check; the proposals (with batches), the uploads (with batches).
    client = client_for(contributor)
    make_batch(contributor)
    with django_assert_num_queries(5):
        client.get(reverse("review:mine"))
    for _ in range(3):
        make_batch(contributor)
        preview(contributor, [MIT_MITIGATION_HEADER, ["B1", "x", "", "NIST2024", ""]])
    with django_assert_num_queries(5):
        response = client.get(reverse("review:mine"))
    assert len(response.context["uploads"]) == 7
