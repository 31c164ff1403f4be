"""Proposing a new source document: the kind, its form, its page, and the review rules."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from catalog import services
from catalog.models import SourceDocument
from review import workflow
from review.models import Proposal, ProposalKind, ProposalState
from review.selectors import normalise_doi, normalise_url, source_list_similar

from .conftest import NEW_SOURCE, new_proposal

pytestmark = pytest.mark.django_db

URL = "/review/propose/source/"


def form_data(**overrides):
    data = {
        "short_ref": "Example2026",
        "title": "Frontier model safeguards in practice",
        "authors": "Ann Example\nBo Other",
        "year": "2026",
        "doc_type": "preprint",
        "url": "https://example.org/safeguards",
        "doi": "https://doi.org/10.5555/Example.2026",
        "abstract": "How laboratories put safeguards in place.",
        "rationale": "It states twenty mitigations the catalog lacks.",
        "intent": "submit",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def login_redirect(response) -> bool:
    return response.status_code == 302 and "/accounts/login/" in response["Location"]


# --------------------------------------------------------------------------- the workflow


def test_approval_creates_the_document_with_history_naming_the_proposal(
    contributor, curator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = new_proposal(contributor, kind=ProposalKind.NEW_SOURCE)
    assert any(m.to == [curator.email] for m in mailoutbox)  # curators hear of it
    assert proposal.title == (
        "New source document: Example2026 (Frontier model safeguards in practice)"
    )
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        outcome = workflow.proposal_approve(proposal=proposal, actor=curator)

    assert outcome.applied
    proposal.refresh_from_db()
    assert proposal.state == ProposalState.APPROVED
    assert proposal.mitigation is None
    document = proposal.source_document
    assert (document.short_ref, document.title, document.year) == (
        "Example2026",
        NEW_SOURCE["title"],
        2026,
    )
    assert (document.first_author, document.doc_type) == ("Ann Example", "preprint")
    (row,) = document.history.all()
    assert row.history_user == curator
    assert row.history_ref == f"proposal:{proposal.pk}"
    assert f"proposal #{proposal.pk}" in row.history_change_reason
    assert [m.to for m in mailoutbox] == [[contributor.email]]  # the author hears of it


def test_nobody_approves_their_own_source_proposal(curator):
    proposal = new_proposal(curator, kind=ProposalKind.NEW_SOURCE)
    with pytest.raises(workflow.NotAllowed):
        workflow.proposal_approve(proposal=proposal, actor=curator)
    assert not SourceDocument.objects.filter(short_ref="Example2026").exists()


def test_a_contributor_cannot_approve(contributor, other_contributor):
    proposal = new_proposal(contributor, kind=ProposalKind.NEW_SOURCE)
    with pytest.raises(workflow.NotAllowed):
        workflow.proposal_approve(proposal=proposal, actor=other_contributor)


def test_two_approvals_when_the_kind_asks_for_two(contributor, curator, other_curator, settings):
    settings.REVIEW_REQUIRED_APPROVALS_BY_KIND = {"new_source": 2}
    proposal = new_proposal(contributor, kind=ProposalKind.NEW_SOURCE)
    assert not workflow.proposal_approve(proposal=proposal, actor=curator).applied
    assert not SourceDocument.objects.filter(short_ref="Example2026").exists()
    assert workflow.proposal_approve(proposal=proposal, actor=other_curator).applied


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"short_ref": "NIST2024"}, "short_ref"),
        ({"short_ref": "  "}, "short_ref"),
        ({"title": ""}, "title"),
        ({"year": 1200}, "year"),
        ({"year": "2024"}, "year"),
        ({"url": "not an address"}, "url"),
        ({"doc_type": "poem"}, "doc_type"),
        ({"abstract": "x" * 20_001}, "abstract"),
        ({"title": 7}, "title"),
    ],
)
def test_what_could_not_be_applied_is_refused_naming_the_field(contributor, changes, field):
    with pytest.raises(ValidationError) as refused:
        new_proposal(contributor, kind=ProposalKind.NEW_SOURCE, changes={**NEW_SOURCE, **changes})
    assert field in refused.value.message_dict
    assert not Proposal.objects.exists()


def test_an_unknown_key_is_refused(contributor):
    with pytest.raises(ValidationError, match="cannot be proposed"):
        new_proposal(
            contributor, kind=ProposalKind.NEW_SOURCE, changes={**NEW_SOURCE, "description": "x"}
        )


def test_a_reference_taken_since_sends_the_proposal_back(contributor, curator, admin):
    proposal = new_proposal(contributor, kind=ProposalKind.NEW_SOURCE)
    services.source_document_create(
        short_ref="Example2026", title="Someone else's", actor=admin, reason="Added meanwhile"
    )

    with pytest.raises(workflow.StaleBase, match="short reference"):
        workflow.proposal_approve(proposal=proposal, actor=curator)

    proposal.refresh_from_db()
    assert proposal.state == ProposalState.CHANGES_REQUESTED
    assert SourceDocument.objects.get(short_ref="Example2026").title == "Someone else's"


# --------------------------------------------------------------------------- duplicates


def test_dois_and_addresses_compare_in_their_plain_forms():
    assert normalise_doi("https://doi.org/10.5555/ABC") == normalise_doi("doi:10.5555/abc")
    assert normalise_url("https://www.Example.org/a/#top") == normalise_url("http://example.org/a")


def test_similar_sources_by_doi_address_and_title(admin):
    services.source_document_create(
        short_ref="Twin2025",
        title="Frontier model safeguards in practice today",
        url="http://www.example.org/safeguards/",
        doi="10.5555/EXAMPLE.2026",
        actor=admin,
        reason="A look-alike",
    )
    (found,) = source_list_similar(
        title=NEW_SOURCE["title"], url=NEW_SOURCE["url"], doi=NEW_SOURCE["doi"]
    )
    assert found.source.short_ref == "Twin2025"
    assert found.reasons[:2] == ["the same DOI", "the same address"]
    assert found.reasons[2].startswith("a similar title")
    assert source_list_similar(title="Completely unrelated words here") == []


# --------------------------------------------------------------------------- the form


def test_the_form_for_each_persona(persona, client_for):
    _, user = persona
    response = client_for(user).get(URL)
    if user is None:
        assert login_redirect(response)
    else:
        assert response.status_code == 200
        assert "Propose a source document" in response.text


def test_an_anonymous_post_proposes_nothing(client_for):
    response = client_for(None).post(URL, form_data())
    assert login_redirect(response)
    assert not Proposal.objects.exists()


def test_the_reference_can_be_filled_in_from_the_address(client_for, contributor):
    response = client_for(contributor).get(URL, {"short_ref": "Unknown2027" + "x" * 500})
    assert 'value="Unknown2027' in response.text
    assert "x" * 101 not in response.text


def test_a_contributor_proposes_a_source(client_for, contributor):
    response = client_for(contributor).post(URL, form_data())

    proposal = Proposal.objects.get()
    assert response.status_code == 302 and response["Location"] == proposal.get_absolute_url()
    assert proposal.kind == ProposalKind.NEW_SOURCE
    assert proposal.state == ProposalState.SUBMITTED
    assert proposal.changes["doi"] == "10.5555/example.2026"
    assert proposal.changes["authors"] == "Ann Example\nBo Other"


def test_a_draft_can_be_saved(client_for, contributor):
    client_for(contributor).post(URL, form_data(intent="draft"))
    assert Proposal.objects.get().state == ProposalState.DRAFT


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("short_ref", "NIST2024", "already has a source document NIST2024"),
        ("short_ref", "", "Give the document a short reference."),
        ("title", "", "Give the document&#x27;s title."),
        ("year", "twenty", "Give the year as a whole number"),
        ("year", "1066", "greater than or equal to 1900"),
        ("url", "javascript:alert(1)", "Enter a valid URL."),
        ("doc_type", "poem", "Select a valid choice."),
        ("title", "x" * 501, "at most 500 characters"),
        ("rationale", "", "Say why this change should be made."),
        ("short_ref", "A\x00B", "Null characters are not allowed."),
    ],
)
def test_bad_input_is_named_on_the_form_never_a_500(client_for, contributor, field, value, message):
    response = client_for(contributor).post(URL, form_data(**{field: value}))
    assert response.status_code == 400
    assert message in response.text
    assert not Proposal.objects.exists()


def test_duplicates_are_shown_and_must_be_acknowledged(client_for, contributor, admin):
    twin = services.source_document_create(
        short_ref="Twin2025",
        title="Something else entirely",
        doi="10.5555/example.2026",
        actor=admin,
        reason="A look-alike",
    )
    client = client_for(contributor)

    warned = client.post(URL, form_data())

    assert warned.status_code == 400
    assert "Similar source documents already in the catalog" in warned.text
    assert twin.get_absolute_url() in warned.text and "the same DOI" in warned.text
    assert not Proposal.objects.exists()

    accepted = client.post(URL, form_data(not_duplicate="on"))
    assert accepted.status_code == 302
    proposal = Proposal.objects.get()

    # The curator sees the same warning on the proposal's page.
    page = client.get(proposal.get_absolute_url())
    assert "Possible duplicates" in page.text
    assert "Twin2025" in page.text and "the same DOI" in page.text


# --------------------------------------------------------------------------- the page


def test_the_page_shows_the_proposed_document_and_after_approval_links_it(
    client_for, contributor, curator
):
    proposal = new_proposal(contributor, kind=ProposalKind.NEW_SOURCE)
    page = client_for(None).get(proposal.get_absolute_url())
    assert page.status_code == 200
    assert "Frontier model safeguards in practice" in page.text
    assert "(new record)" in page.text

    response = client_for(curator).post(
        reverse("review:proposal-approve", args=[proposal.pk]), {"note": ""}
    )
    assert response.status_code == 302

    page = client_for(None).get(proposal.get_absolute_url())
    assert 'href="/sources/Example2026/"' in page.text
    assert "source document: Example2026" in page.text  # the history row it wrote
    source_page = client_for(None).get("/sources/Example2026/")
    assert source_page.status_code == 200
    assert "Frontier model safeguards in practice" in source_page.text


def test_the_author_cannot_approve_through_the_page(client_for, contributor):
    proposal = new_proposal(contributor, kind=ProposalKind.NEW_SOURCE)
    response = client_for(contributor).post(reverse("review:proposal-approve", args=[proposal.pk]))
    assert response.status_code == 403
    assert not SourceDocument.objects.filter(short_ref="Example2026").exists()


def test_the_author_updates_it_after_changes_were_requested(client_for, contributor, curator):
    proposal = new_proposal(contributor, kind=ProposalKind.NEW_SOURCE)
    workflow.proposal_request_changes(proposal=proposal, actor=curator, note="Add the year")
    client = client_for(contributor)

    form = client.get(reverse("review:proposal-edit", args=[proposal.pk]))
    assert form.status_code == 200 and 'value="Example2026"' in form.text

    response = client.post(
        reverse("review:proposal-edit", args=[proposal.pk]), form_data(year="2025")
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.changes["year"] == 2025


def test_the_sources_page_and_the_new_mitigation_form_offer_it(client_for, contributor):
    assert URL in client_for(None).get("/sources/").text
    assert URL in client_for(contributor).get(reverse("review:propose-new")).text
    assert URL in client_for(contributor).get(reverse("review:mine")).text
