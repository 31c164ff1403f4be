"""A record's history credits who proposed a change and who approved it, and links the
proposal where any reader can follow it (never into the admin)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.history import describe_refs
from review import workflow
from review.models import ProposalKind
from tests.html_checks import html_problems

from .conftest import new_proposal

pytestmark = pytest.mark.django_db


def history_of(client, mitigation) -> str:
    text = client.get(mitigation.get_absolute_url()).text
    return " ".join(text[text.index('id="history-title"') :].split())


def test_a_record_made_from_a_proposal_credits_its_proposer_and_its_approver(
    client, contributor, curator
):
    proposal = new_proposal(contributor, kind=ProposalKind.NEW)
    workflow.proposal_approve(proposal=proposal, actor=curator)
    proposal.refresh_from_db()

    history = history_of(client, proposal.mitigation)
    url = reverse("review:proposal-detail", args=[proposal.pk])
    assert "proposed by <strong>Cora</strong> · approved by <strong>Cecil</strong>" in history
    assert f'via <a href="{url}">proposal #{proposal.pk}</a>' in history
    assert f"proposal:{proposal.pk}" not in history
    # The link leads to a page the public may read.
    assert client.get(url).status_code == 200


def test_every_approving_curator_is_credited(
    client, settings, contributor, curator, other_curator, record
):
    settings.REVIEW_REQUIRED_APPROVALS = 2
    proposal = new_proposal(contributor, kind=ProposalKind.EDIT, mitigation=record)
    workflow.proposal_approve(proposal=proposal, actor=curator)
    workflow.proposal_approve(proposal=proposal, actor=other_curator)
    history = history_of(client, record)
    assert (
        "proposed by <strong>Cora</strong> · approved by <strong>Cecil and Olga</strong>" in history
    )


def test_a_direct_change_names_who_made_it_and_no_admin_link_reaches_the_public(
    client, admin, curator, record
):
    from catalog import services

    services.mitigation_update(
        mitigation=record,
        data={"name": "Adversarial training, reworded"},
        actor=curator,
        reason="Tidy",
        ref="import-batch:41",
    )
    history = history_of(client, record)
    assert "changed by <strong>Cecil</strong>" in history
    assert "via import batch #41" in history
    assert "/admin/" not in history
    assert html_problems(client.get(record.get_absolute_url()).text) == []


def test_references_are_described_in_one_query_per_kind(
    contributor, curator, django_assert_num_queries
):
    proposals = [new_proposal(contributor, kind=ProposalKind.NEW) for _ in range(3)]
    for proposal in proposals:
        workflow.proposal_approve(proposal=proposal, actor=curator)
    refs = [f"proposal:{p.pk}" for p in proposals] + ["import-batch:3", "unknown:7", "plain"]
    with django_assert_num_queries(2):  # the proposals, then their approvals
        described = describe_refs(refs)
    assert [described[f"proposal:{p.pk}"].approved_by for p in proposals] == [("Cecil",)] * 3
    assert described["import-batch:3"].label == "import batch #3"
    assert described["import-batch:3"].url is None
    assert described["import-batch:3"].staff_url == "/admin/catalog/importbatch/3/change/"
    assert described["unknown:7"].label == "unknown #7"
    assert described["plain"].label == "plain"


def test_the_record_page_query_count_does_not_grow_with_proposals_in_its_history(
    client, contributor, curator, record, django_assert_max_num_queries
):
    def approve_one(n):
        proposal = new_proposal(
            contributor,
            kind=ProposalKind.EDIT,
            mitigation=record,
            changes={"section_path": f"Model development > Part {n}"},
        )
        workflow.proposal_approve(proposal=proposal, actor=curator)

    approve_one(0)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as once:
        client.get(record.get_absolute_url())
    for n in range(1, 5):
        approve_one(n)
    with django_assert_max_num_queries(len(once.captured_queries)):
        response = client.get(record.get_absolute_url())
    assert response.text.count("approved by <strong>Cecil</strong>") == 5
