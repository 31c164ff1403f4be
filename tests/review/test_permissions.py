"""The named rules: who may do what, and the reason given when not."""

from __future__ import annotations

import pytest

from review import permissions, workflow

from .conftest import new_proposal

pytestmark = pytest.mark.django_db

EVERYONE = ("anonymous", "contributor", "other_contributor", "curator", "other_curator", "admin")
DECIDERS = {"curator", "other_curator", "admin"}


@pytest.fixture
def proposal(contributor):
    return new_proposal(contributor)


@pytest.mark.parametrize(
    ("rule", "allowed"),
    [
        (permissions.can_edit, {"contributor"}),
        (permissions.can_submit, {"contributor"}),
        (permissions.can_resubmit, {"contributor"}),
        (permissions.can_withdraw, {"contributor"}),
        (permissions.can_approve, DECIDERS),
        (permissions.can_reject, DECIDERS),
        (permissions.can_request_changes, DECIDERS),
        (permissions.can_claim, DECIDERS),
        (permissions.can_comment, {"contributor", *DECIDERS}),
        (permissions.can_view, set(EVERYONE)),
    ],
)
def test_each_rule_for_each_persona(rule, allowed, persona, proposal):
    name, user = persona
    verdict = rule(user, proposal)
    assert bool(verdict) == (name in allowed)
    if not verdict:
        assert verdict.reason  # a refusal always says why


def test_nobody_decides_their_own_proposal_not_even_a_curator(curator):
    proposal = new_proposal(curator)
    verdict = permissions.can_approve(curator, proposal)
    assert not verdict
    assert verdict.reason == "Nobody decides their own proposal: another curator must review it."


def test_a_contributor_is_told_that_only_curators_decide(proposal, other_contributor):
    assert permissions.can_reject(other_contributor, proposal).reason == (
        "Only curators can decide proposals."
    )


def test_a_draft_is_visible_to_its_author_and_admins(
    contributor, other_contributor, curator, admin
):
    draft = new_proposal(contributor, submit=False)
    assert permissions.can_view(contributor, draft)
    assert permissions.can_view(admin, draft)
    assert not permissions.can_view(curator, draft)
    assert not permissions.can_view(other_contributor, draft)
    assert not permissions.can_view(None, draft)


def test_proposing_needs_an_active_account(contributor):
    assert permissions.can_propose(contributor)
    assert not permissions.can_propose(None)
    contributor.is_active = False
    assert permissions.can_propose(contributor).reason == "Sign in to propose a change."


def test_an_inactive_curator_decides_nothing(proposal, curator):
    curator.is_active = False
    assert not permissions.can_approve(curator, proposal)


def test_the_queue_is_for_curators(persona):
    name, user = persona
    assert bool(permissions.can_see_queue(user)) == (name in DECIDERS)


def test_release_is_for_the_claimer_or_an_admin(proposal, curator, other_curator, admin):
    workflow.proposal_claim(proposal=proposal, actor=curator)
    proposal.refresh_from_db()
    assert permissions.can_release(curator, proposal)
    assert permissions.can_release(admin, proposal)
    assert not permissions.can_release(other_curator, proposal)


class TestAvailableActions:
    """The buttons come from the same rules, filtered by the state."""

    def names(self, proposal, user):
        return [a.name for a in workflow.available_actions(proposal, user)]

    def test_for_each_persona_on_a_submitted_proposal(self, persona, proposal):
        name, user = persona
        expected = {
            "anonymous": [],
            "contributor": ["withdraw"],
            "other_contributor": [],
            "curator": ["approve", "request_changes", "reject", "claim"],
            "other_curator": ["approve", "request_changes", "reject", "claim"],
            "admin": ["approve", "request_changes", "reject", "claim"],
        }[name]
        assert self.names(proposal, user) == expected

    def test_a_curator_who_approved_this_revision_is_not_offered_approve_again(
        self, contributor, curator, settings
    ):
        settings.REVIEW_REQUIRED_APPROVALS_BY_KIND = {"edit": 2}
        proposal = new_proposal(contributor)
        workflow.proposal_approve(proposal=proposal, actor=curator)
        assert "approve" not in self.names(proposal, curator)
        assert "reject" in self.names(proposal, curator)

    def test_nothing_is_offered_on_a_decided_proposal(self, proposal, contributor, curator):
        workflow.proposal_reject(proposal=proposal, actor=curator, note="No")
        proposal.refresh_from_db()
        assert self.names(proposal, contributor) == []
        assert self.names(proposal, curator) == []

    def test_every_offered_action_succeeds(self, persona, contributor):
        """What the page offers, the workflow accepts: the rules are the same."""
        _, user = persona
        offered = workflow.available_actions(new_proposal(contributor), user)
        for number, action in enumerate(offered):
            if action.method == "get":
                continue
            fresh = new_proposal(contributor, changes={"name": f"Name {number}"})
            kwargs = {"note": "Because"} if action.note else {}
            getattr(workflow, f"proposal_{action.name}")(proposal=fresh, actor=user, **kwargs)
