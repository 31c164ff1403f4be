"""Every review view for every persona: allowed, 403, 404, 405, wrong state; bad input on forms."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from catalog import services
from catalog.models import Taxonomy
from review import workflow
from review.models import Comment, Proposal, ProposalKind, ProposalState
from tests.catalog.test_views import cold

from .conftest import new_proposal, node

pytestmark = pytest.mark.django_db

CURATORS = {"curator", "other_curator", "admin"}  # the test admin is a superuser: a curator


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


@pytest.fixture
def proposal_in(contributor, curator, other_curator):
    """``proposal_in(state)``: the contributor's edit proposal brought to ``state``."""

    def make(state: str) -> Proposal:
        proposal = new_proposal(contributor, submit=state != "draft")
        if state == "changes_requested":
            workflow.proposal_request_changes(proposal=proposal, actor=other_curator, note="Fix")
        elif state == "claimed":
            workflow.proposal_claim(proposal=proposal, actor=curator)
        elif state == "withdrawn":
            workflow.proposal_withdraw(proposal=proposal, actor=contributor)
        elif state == "approved":
            workflow.proposal_approve(proposal=proposal, actor=other_curator)
        proposal.refresh_from_db()
        return proposal

    return make


# --------------------------------------------------------------------------- pages (GET)


PAGES = [
    # url name, who may see it (others signed in get 403)
    ("review:queue", CURATORS),
    ("review:mine", "signed in"),
    ("review:settings", "signed in"),
    ("review:propose-new", "signed in"),
]


@pytest.mark.parametrize(("url_name", "allowed"), PAGES)
def test_pages_for_each_persona(url_name, allowed, persona, client_for):
    name, user = persona
    response = client_for(user).get(reverse(url_name))
    if user is None:
        assert login_redirect(response)
    elif allowed == "signed in" or name in allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "Only curators can see the review queue." in response.text


@pytest.mark.parametrize(
    "url_name",
    [
        "review:propose-edit",
        "review:propose-reclassification",
        "review:propose-retirement",
        "review:propose-merge",
    ],
)
def test_propose_forms_for_each_persona(url_name, persona, client_for, record):
    _, user = persona
    response = client_for(user).get(reverse(url_name, args=[record.public_id]))
    if user is None:
        assert login_redirect(response)
    else:
        assert response.status_code == 200
        assert record.public_id in response.text


@pytest.mark.parametrize(
    "url_name",
    [
        "review:propose-edit",
        "review:propose-reclassification",
        "review:propose-retirement",
        "review:propose-merge",
    ],
)
def test_propose_forms_404_for_an_unknown_record(url_name, client_for, contributor):
    response = client_for(contributor).get(reverse(url_name, args=["A7777777"]))
    assert response.status_code == 404


def test_the_proposal_page_is_public_once_submitted(persona, client_for, proposal_in):
    _, user = persona
    proposal = proposal_in("submitted")
    response = client_for(user).get(proposal.get_absolute_url())
    assert response.status_code == 200
    assert "Proposed change" in response.text


def test_a_draft_is_seen_by_its_author_and_admins_only(persona, client_for, proposal_in):
    name, user = persona
    proposal = proposal_in("draft")
    response = client_for(user).get(proposal.get_absolute_url())
    assert response.status_code == (200 if name in {"contributor", "admin"} else 404)


def test_an_unknown_proposal_is_404(client_for, curator):
    assert client_for(curator).get(reverse("review:proposal-detail", args=[999])).status_code == 404


def test_the_update_form_for_each_persona(persona, client_for, proposal_in):
    name, user = persona
    proposal = proposal_in("changes_requested")
    response = client_for(user).get(reverse("review:proposal-edit", args=[proposal.pk]))
    if user is None:
        assert login_redirect(response)
    elif name == "contributor":
        assert response.status_code == 200
        assert "Model development &gt; Robustness" in response.text  # the proposed value
    else:
        assert response.status_code == 403


def test_the_update_form_in_a_wrong_state_redirects_with_a_message(client_for, proposal_in):
    proposal = proposal_in("submitted")
    client = client_for(proposal.author)
    response = client.get(reverse("review:proposal-edit", args=[proposal.pk]))
    assert response.status_code == 302
    assert "can be updated only as a draft" in messages_of(response)[0]


# --------------------------------------------------------------------------- transitions (POST)


TRANSITIONS = [
    # url name, starting state, form data, who may, the state afterwards
    ("review:proposal-approve", "submitted", {}, CURATORS, "approved"),
    ("review:proposal-reject", "submitted", {"note": "No"}, CURATORS, "rejected"),
    (
        "review:proposal-request-changes",
        "submitted",
        {"note": "Fix"},
        CURATORS,
        "changes_requested",
    ),
    ("review:proposal-withdraw", "submitted", {}, {"contributor"}, "withdrawn"),
    ("review:proposal-submit", "draft", {}, {"contributor"}, "submitted"),
    ("review:proposal-resubmit", "changes_requested", {}, {"contributor"}, "resubmitted"),
    ("review:proposal-claim", "submitted", {}, CURATORS, "submitted"),
    ("review:proposal-release", "claimed", {}, {"curator", "admin"}, "submitted"),
    (
        "review:proposal-comment",
        "submitted",
        {"body": "Which page?"},
        {"contributor", *CURATORS},
        "submitted",
    ),
]


def _effect(url_name, proposal):
    """What a successful action left behind, beyond the state."""
    if url_name == "review:proposal-claim":
        return proposal.claimed_by_id is not None
    if url_name == "review:proposal-release":
        return proposal.claimed_by_id is None
    if url_name == "review:proposal-comment":
        return Comment.objects.filter(proposal=proposal).exists()
    return True


@pytest.mark.parametrize(("url_name", "start", "data", "allowed", "after"), TRANSITIONS)
def test_transitions_for_each_persona(
    url_name, start, data, allowed, after, persona, client_for, proposal_in
):
    name, user = persona
    proposal = proposal_in(start)
    response = client_for(user).post(reverse(url_name, args=[proposal.pk]), data)
    changed = Proposal.objects.get(pk=proposal.pk)
    if user is None:
        assert login_redirect(response)
        assert changed.state == proposal.state
    elif name in allowed:
        assert response.status_code == 302, response.content
        assert changed.state == after
        assert _effect(url_name, changed)
        assert not any("cannot" in m for m in messages_of(response))
    elif start == "draft" and name != "admin":
        assert response.status_code == 404  # a draft is invisible to everyone else
        assert changed.state == start
    else:
        assert response.status_code == 403
        assert changed.state == proposal.state
        assert changed.claimed_by_id == proposal.claimed_by_id
        assert not Comment.objects.filter(proposal=proposal).exists()


@pytest.mark.parametrize(("url_name", "start", "data", "allowed", "after"), TRANSITIONS)
def test_no_action_is_reachable_by_get(
    url_name, start, data, allowed, after, persona, client_for, proposal_in
):
    _, user = persona
    proposal = proposal_in(start)
    response = client_for(user).get(reverse(url_name, args=[proposal.pk]), data)
    assert response.status_code == 405
    assert Proposal.objects.get(pk=proposal.pk).state == proposal.state


@pytest.mark.parametrize(("url_name", "start", "data", "allowed", "after"), TRANSITIONS)
def test_actions_on_an_unknown_proposal_are_404(
    url_name, start, data, allowed, after, client_for, curator
):
    response = client_for(curator).post(reverse(url_name, args=[999_999]), data)
    assert response.status_code == 404


@pytest.mark.parametrize(("url_name", "start", "data", "allowed", "after"), TRANSITIONS)
def test_actions_in_a_wrong_state_say_why_and_change_nothing(
    url_name, start, data, allowed, after, client_for, proposal_in, contributor, curator
):
    if url_name == "review:proposal-comment":
        proposal, user = proposal_in("draft"), contributor  # nobody discusses a draft
    else:
        proposal = proposal_in("withdrawn")
        user = contributor if "contributor" in allowed else curator
    response = client_for(user).post(reverse(url_name, args=[proposal.pk]), data)
    assert response.status_code == 302
    (message,) = messages_of(response)
    assert "cannot be" in message
    after_state = Proposal.objects.get(pk=proposal.pk)
    assert after_state.state == proposal.state
    assert after_state.events.count() == proposal.events.count()


def test_a_decision_on_a_decided_proposal_names_who_decided(
    client_for, proposal_in, curator, other_curator
):
    proposal = proposal_in("approved")  # by other_curator
    response = client_for(curator).post(reverse("review:proposal-approve", args=[proposal.pk]))
    assert response.status_code == 302
    assert messages_of(response) == [
        "Olga has already approved and applied this proposal; nothing more was done."
    ]


def test_reject_without_a_note_changes_nothing(client_for, proposal_in, curator):
    proposal = proposal_in("submitted")
    response = client_for(curator).post(reverse("review:proposal-reject", args=[proposal.pk]))
    assert response.status_code == 302
    assert "Say why the proposal is rejected." in messages_of(response)[0]
    assert Proposal.objects.get(pk=proposal.pk).state == ProposalState.SUBMITTED


def test_an_action_returns_to_a_safe_next_address_only(client_for, proposal_in, curator):
    proposal = proposal_in("submitted")
    client = client_for(curator)
    url = reverse("review:proposal-claim", args=[proposal.pk])
    response = client.post(url, {"next": reverse("review:queue")})
    assert response["Location"] == reverse("review:queue")
    workflow.proposal_release(proposal=proposal, actor=curator)
    response = client.post(url, {"next": "https://evil.example/"})
    assert response["Location"] == proposal.get_absolute_url()


def test_approval_of_a_stale_proposal_shows_base_current_and_proposed(
    client_for, proposal_in, curator, admin, record
):
    proposal = proposal_in("submitted")
    services.mitigation_update(
        mitigation=record, data={"section_path": "Changed meanwhile"}, actor=admin, reason="x"
    )
    client = client_for(curator)
    page = client.get(proposal.get_absolute_url())
    assert "The record changed since this proposal was made" in page.text
    assert "Changed meanwhile" in page.text
    response = client.post(reverse("review:proposal-approve", args=[proposal.pk]), follow=True)
    assert "Nothing was applied; the proposal went back to its author" in response.text
    assert Proposal.objects.get(pk=proposal.pk).state == ProposalState.CHANGES_REQUESTED


def test_a_partial_approval_says_how_many_are_still_needed(
    client_for, contributor, curator, settings
):
    settings.REVIEW_REQUIRED_APPROVALS_BY_KIND = {"retire": 2}
    proposal = new_proposal(contributor, kind=ProposalKind.RETIRE)
    response = client_for(curator).post(reverse("review:proposal-approve", args=[proposal.pk]))
    assert "Approval recorded (1 of 2)" in messages_of(response)[0]


# --------------------------------------------------------------------------- what the page offers


@pytest.mark.parametrize(
    ("state", "persona_name", "buttons"),
    [
        ("submitted", "anonymous", []),
        ("submitted", "contributor", ["Withdraw"]),
        ("submitted", "other_contributor", []),
        ("submitted", "curator", ["Approve", "Request changes", "Reject", "Claim"]),
        ("claimed", "other_curator", ["Approve", "Request changes", "Reject"]),
        ("claimed", "curator", ["Approve", "Request changes", "Reject", "Release"]),
        ("draft", "contributor", ["Update the proposal", "Submit for review", "Withdraw"]),
        ("changes_requested", "contributor", ["Update the proposal", "Resubmit", "Withdraw"]),
        ("changes_requested", "curator", []),
        ("approved", "curator", []),
    ],
)
def test_the_page_shows_exactly_the_actions_the_viewer_may_take(
    state, persona_name, buttons, request, client_for, proposal_in
):
    user = request.getfixturevalue(persona_name)
    proposal = proposal_in(state)
    response = client_for(user).get(proposal.get_absolute_url())
    assert [a.label for a in response.context["actions"]] == buttons
    for label in ("Approve", "Reject", "Withdraw", "Resubmit", "Claim", "Release"):
        assert (f">{label}</button>" in response.text) == (label in buttons)


def test_the_comment_form_is_for_the_author_and_curators(client_for, proposal_in, persona):
    name, user = persona
    proposal = proposal_in("submitted")
    response = client_for(user).get(proposal.get_absolute_url())
    assert ("Add comment" in response.text) == (name in {"contributor", *CURATORS})


# --------------------------------------------------------------------------- proposing (POST)


class TestProposing:
    def test_a_reclassification_shows_the_current_node_and_lands_in_the_queue(
        self, client_for, contributor, record
    ):
        client = client_for(contributor)
        url = reverse("review:propose-reclassification", args=[record.public_id])
        form = client.get(url, {"taxonomy": "airm-preliminary"})
        assert form.context["form"].initial["node"] == node("2.3").pk
        response = client.post(
            url,
            {
                "taxonomy": "airm-preliminary",
                "node": node("3.1").pk,
                "rationale": "It is testing",
                "intent": "submit",
            },
        )
        proposal = Proposal.objects.get()
        assert response["Location"] == proposal.get_absolute_url()
        assert (proposal.kind, proposal.state) == (ProposalKind.RECLASSIFY, "submitted")
        assert proposal.taxonomy == Taxonomy.objects.get(slug="airm-preliminary")

    def test_save_as_draft_keeps_it_out_of_the_queue(self, client_for, contributor, record):
        client_for(contributor).post(
            reverse("review:propose-retirement", args=[record.public_id]),
            {"rationale": "Not a mitigation", "intent": "draft"},
        )
        assert Proposal.objects.get().state == ProposalState.DRAFT

    def test_an_edit_shows_the_current_values_and_proposes_only_what_changed(
        self, client_for, contributor, record
    ):
        client = client_for(contributor)
        url = reverse("review:propose-edit", args=[record.public_id])
        form = client.get(url)
        assert form.context["form"].initial["name"] == record.name
        client.post(
            url,
            {
                "name": record.name,
                "definition": "A clearer definition.",
                "source": record.source_id,
                "section_path": record.section_path,
                "rationale": "Clearer",
            },
        )
        assert Proposal.objects.get().changes == {"definition": "A clearer definition."}

    @pytest.mark.parametrize(
        ("url_name", "data", "field", "message"),
        [
            (
                "review:propose-reclassification",
                {"taxonomy": "airm-preliminary", "node": "999999", "rationale": "x"},
                "node",
                "That node is not in AI Risk Mitigation Taxonomy (preliminary)",
            ),
            (
                "review:propose-reclassification",
                {"taxonomy": "airm-preliminary", "node": "not-a-number", "rationale": "x"},
                "node",
                "That node is not in",
            ),
            (
                "review:propose-reclassification",
                {"taxonomy": "airm-preliminary", "node": "__node_3_1__", "rationale": " "},
                "rationale",
                "Say why this change should be made.",
            ),
            (
                "review:propose-merge",
                {"into": "__self__", "rationale": "Duplicate"},
                "into",
                "A record cannot be merged into itself.",
            ),
            (
                "review:propose-merge",
                {"into": "__retired__", "rationale": "Duplicate"},
                "into",
                "merge into an active record",
            ),
            (
                "review:propose-merge",
                {"into": "A7777777", "rationale": "Duplicate"},
                "into",
                "There is no mitigation A7777777.",
            ),
            (
                "review:propose-retirement",
                {"rationale": ""},
                "rationale",
                "Say why this change should be made.",
            ),
        ],
    )
    def test_bad_input_gets_a_clear_error_on_the_form_and_changes_nothing(
        self, url_name, data, field, message, client_for, contributor, record, other_record
    ):
        services.mitigation_retire(mitigation=other_record, actor=None, reason="Gone")
        substitutes = {
            "__self__": record.public_id,
            "__retired__": other_record.public_id,
            "__node_3_1__": str(node("3.1").pk),
        }
        data = {key: substitutes.get(value, value) for key, value in data.items()}
        response = client_for(contributor).post(reverse(url_name, args=[record.public_id]), data)
        assert response.status_code == 400
        errors = response.context["form"].errors
        assert any(message in error for error in errors[field]), errors
        assert message.split("(")[0] in response.text.replace("&#x27;", "'")
        assert not Proposal.objects.exists()

    def test_an_edit_of_a_merged_record_is_refused_on_the_form(
        self, client_for, contributor, record, other_record
    ):
        services.mitigation_merge(mitigation=record, into=other_record, actor=None, reason="Dup")
        client = client_for(contributor)
        url = reverse("review:propose-edit", args=[record.public_id])
        page = client.get(url)
        assert "propose changes to A9002 instead" in page.text
        response = client.post(
            url,
            {
                "name": "New name",
                "source": record.source_id,
                "rationale": "Better",
            },
        )
        assert response.status_code == 400
        assert "was merged into A9002" in response.text
        assert not Proposal.objects.exists()

    def test_an_unchanged_edit_is_refused_on_the_form(self, client_for, contributor, record):
        response = client_for(contributor).post(
            reverse("review:propose-edit", args=[record.public_id]),
            {
                "name": record.name,
                "definition": record.definition,
                "source": record.source_id,
                "section_path": record.section_path,
                "rationale": "Nothing",
            },
        )
        assert response.status_code == 400
        assert "Change at least one field" in response.text
        assert not Proposal.objects.exists()

    def test_similar_mitigations_are_shown_and_must_be_acknowledged(
        self, client_for, contributor, record
    ):
        client = client_for(contributor)
        data = {
            "name": "Adversarial trainings",
            "source": record.source_id,
            "rationale": "Missing from the catalog",
        }
        response = client.post(reverse("review:propose-new"), data)
        assert response.status_code == 400
        assert "Similar mitigations already in the catalog" in response.text
        assert record.public_id in response.text
        assert not Proposal.objects.exists()
        response = client.post(reverse("review:propose-new"), {**data, "not_duplicate": "on"})
        assert response.status_code == 302
        proposal = Proposal.objects.get()
        assert proposal.changes["name"] == "Adversarial trainings"

    def test_a_new_mitigation_with_a_classification(self, client_for, contributor, record):
        response = client_for(contributor).post(
            reverse("review:propose-new"),
            {
                "name": "Quarterly tabletop exercises for model incidents",
                "source": record.source_id,
                "node_airm_preliminary": node("3.6").pk,
                "reasoning_airm_preliminary": "Drills are incident readiness",
                "rationale": "In the source, section 4",
            },
        )
        assert response.status_code == 302
        assert Proposal.objects.get().changes["placements"] == [
            [node("3.6").pk, "Drills are incident readiness"]
        ]

    def test_an_unknown_taxonomy_is_404(self, client_for, contributor, record):
        url = reverse("review:propose-reclassification", args=[record.public_id])
        assert client_for(contributor).get(url, {"taxonomy": "nope"}).status_code == 404

    def test_the_author_updates_a_proposal_sent_back(self, client_for, proposal_in, record):
        proposal = proposal_in("changes_requested")
        client = client_for(proposal.author)
        response = client.post(
            reverse("review:proposal-edit", args=[proposal.pk]),
            {
                "name": record.name,
                "definition": record.definition,
                "source": record.source_id,
                "section_path": "Model development > Adversarial robustness",
                "rationale": "More precise",
            },
        )
        assert response.status_code == 302
        proposal.refresh_from_db()
        assert proposal.changes == {"section_path": "Model development > Adversarial robustness"}
        assert proposal.rationale == "More precise"


# --------------------------------------------------------------------------- the record's page


def test_the_record_page_offers_proposals_to_signed_in_people(persona, client_for, record):
    _, user = persona
    response = client_for(user).get(record.get_absolute_url())
    assert ("Propose a change" in response.text) == (user is not None)
    assert ("Propose a reclassification" in response.text) == (user is not None)
    assert "Approved proposals that shaped this record" in response.text


def test_the_record_page_lists_the_approved_proposals_that_shaped_it(
    client, contributor, curator, record
):
    approved = new_proposal(contributor)
    workflow.proposal_approve(proposal=approved, actor=curator)
    rejected = new_proposal(contributor, changes={"name": "Other"})
    workflow.proposal_reject(proposal=rejected, actor=curator, note="No")
    response = client.get(record.get_absolute_url())
    assert approved.get_absolute_url() in response.text
    assert rejected.get_absolute_url() not in response.text


def test_the_record_panel_query_count_stays_constant(
    client, contributor, curator, record, django_assert_num_queries
):
    # The mitigation page's own (see tests/catalog/test_views.py: 12 with the panel's
    # proposals and the proposals' token, as an anonymous reader's page kept under the version).
    with django_assert_num_queries(cold(12)):
        client.get(record.get_absolute_url())
    for name in ("One", "Two", "Three"):
        proposal = new_proposal(contributor, mitigation=record, changes={"name": name})
        workflow.proposal_approve(proposal=proposal, actor=curator)
    new_proposal(contributor, mitigation=record, changes={"definition": "Open"})
    # Once the history names proposals, its credit lines ("proposed by A · approved by B") read
    # those proposals and their approvals: two more queries, however many proposals there are.
    with django_assert_num_queries(cold(14)):
        response = client.get(record.get_absolute_url())
    # Each approved proposal is named twice: in the review panel and in the history's credit.
    assert response.text.count("proposed by") == 2 * 3
    assert "1 proposal for this record is under review" in response.text
    for name in ("Four", "Five"):
        proposal = new_proposal(contributor, mitigation=record, changes={"name": name})
        workflow.proposal_approve(proposal=proposal, actor=curator)
    with django_assert_num_queries(cold(14)):
        response = client.get(record.get_absolute_url())
    assert response.text.count("proposed by") == 2 * 5


def test_the_queue_query_count_does_not_grow(
    client_for, contributor, other_contributor, curator, record, django_assert_num_queries
):
    # Session, user, curator check; the page of proposals (with approval counts and
    # batches), the overlaps, the counts on top, the batches awaiting review, the filter's
    # taxonomy choices, the paginator's count.
    client = client_for(curator)
    new_proposal(contributor)
    with django_assert_num_queries(9):
        client.get(reverse("review:queue"))
    for author in (contributor, other_contributor):
        new_proposal(author, kind=ProposalKind.RECLASSIFY)
        new_proposal(
            author,
            kind=ProposalKind.NEW,
            changes={"name": f"New by {author}", "source": record.source_id},
        )
    with django_assert_num_queries(9):
        response = client.get(reverse("review:queue"))
    assert len(response.context["proposals"]) == 5
    assert "Overlaps another open proposal" in response.text


def test_the_proposal_page_query_count_does_not_grow_with_its_discussion(
    client_for, proposal_in, curator, other_curator, django_assert_num_queries
):
    # Session, user, curator check; the proposal, its events, comments and approvals; the
    # overlapping proposals.
    proposal = proposal_in("submitted")
    client = client_for(curator)
    with django_assert_num_queries(8):
        client.get(proposal.get_absolute_url())
    for body in ("a", "b", "c"):
        workflow.proposal_comment(proposal=proposal, actor=other_curator, body=body)
    workflow.proposal_claim(proposal=proposal, actor=other_curator)
    with django_assert_num_queries(8):
        response = client.get(proposal.get_absolute_url())
    assert response.text.count('class="comment"') == 3


def test_similar_mitigations_are_suggested_while_typing(client_for, contributor, record, persona):
    _, user = persona
    url = reverse("review:similar-mitigations")
    response = client_for(user).get(url, {"name": "Adversarial trainings"})
    if user is None:
        assert login_redirect(response)
        return
    assert response.status_code == 200
    assert record.public_id in response.text
    assert "<html" not in response.text  # only the list, for the page to insert
    assert client_for(user).post(url, {"name": "x"}).status_code == 405
    assert "Similar" not in client_for(user).get(url, {"name": "Zebra crossings"}).text


def test_updating_a_proposal_for_each_persona(persona, client_for, proposal_in, record):
    name, user = persona
    proposal = proposal_in("changes_requested")
    data = {
        "name": record.name,
        "definition": record.definition,
        "source": record.source_id,
        "section_path": "Somewhere more precise",
        "rationale": "Updated",
    }
    response = client_for(user).post(reverse("review:proposal-edit", args=[proposal.pk]), data)
    changed = Proposal.objects.get(pk=proposal.pk)
    if user is None:
        assert login_redirect(response)
    elif name == "contributor":
        assert response.status_code == 302
        assert changed.changes == {"section_path": "Somewhere more precise"}
        return
    else:
        assert response.status_code == 403
    assert changed.changes == proposal.changes


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("review:propose-edit", {"name": "Renamed", "source": "__source__", "rationale": "Why"}),
        (
            "review:propose-reclassification",
            {"taxonomy": "airm-preliminary", "node": "__node__", "rationale": "Why"},
        ),
        ("review:propose-retirement", {"rationale": "Why"}),
        ("review:propose-merge", {"into": "A9002", "rationale": "Why"}),
    ],
)
def test_proposing_for_each_persona(url_name, data, persona, client_for, record):
    _, user = persona
    values = {"__source__": str(record.source_id), "__node__": str(node("3.1").pk)}
    data = {key: values.get(value, value) for key, value in data.items()}
    response = client_for(user).post(reverse(url_name, args=[record.public_id]), data)
    if user is None:
        assert login_redirect(response)
        assert not Proposal.objects.exists()
    else:
        proposal = Proposal.objects.get()
        assert response["Location"] == proposal.get_absolute_url()
        assert (proposal.author, proposal.state) == (user, ProposalState.SUBMITTED)


def test_the_queue_pages_keep_the_filters(client_for, contributor, curator, monkeypatch):
    from review import views

    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 2)
    for _ in range(3):
        new_proposal(contributor, kind=ProposalKind.RETIRE)
    response = client_for(curator).get(reverse("review:queue"), {"kind": "retire"})
    assert 'href="?kind=retire&amp;page=2"' in response.text
    second = client_for(curator).get(reverse("review:queue"), {"kind": "retire", "page": 2})
    assert second.status_code == 200
    assert len(second.context["proposals"]) == 1
