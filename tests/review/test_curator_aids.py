"""What helps a curator decide: the next proposal in the queue after a decision, the possible
duplicates the author was warned about, and each node's definition in the taxonomy pickers."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from catalog.models import Mitigation, TaxonomyNode
from review import selectors, workflow
from review.models import ProposalKind
from tests.html_checks import html_problems

from .conftest import new_proposal

pytestmark = pytest.mark.django_db


def squeezed(response) -> str:
    return " ".join(response.text.split())


class TestNextInQueue:
    def test_after_a_decision_the_page_offers_the_oldest_proposal_still_waiting(
        self, client_for, contributor, other_contributor, curator, other_curator, record
    ):
        decided = new_proposal(contributor, kind=ProposalKind.EDIT)
        own = new_proposal(curator, kind=ProposalKind.RETIRE)  # never offered to its author
        claimed = new_proposal(contributor, kind=ProposalKind.RECLASSIFY)
        workflow.proposal_claim(proposal=claimed, actor=other_curator)  # someone else's now
        waiting = new_proposal(other_contributor, kind=ProposalKind.NEW)
        client = client_for(curator)

        response = client.post(reverse("review:proposal-approve", args=[decided.pk]), follow=True)
        text = squeezed(response)
        assert "Approved and applied" in text
        assert "Next in the queue:" in text
        assert f'href="{waiting.get_absolute_url()}" rel="next">#{waiting.pk}' in text
        assert f"#{own.pk} " not in text.split("Next in the queue:")[1][:300]
        assert html_problems(response.text) == []

        client.post(reverse("review:proposal-reject", args=[waiting.pk]), {"note": "Duplicate"})
        text = squeezed(client.get(waiting.get_absolute_url()))
        assert "Nothing else in the queue awaits your decision" in text
        assert f'href="{reverse("review:queue")}"' in text

    def test_a_proposal_the_curator_approved_waits_for_others_and_is_not_offered_again(
        self, settings, contributor, curator
    ):
        settings.REVIEW_REQUIRED_APPROVALS = 2
        first = new_proposal(contributor, kind=ProposalKind.EDIT)
        second = new_proposal(contributor, kind=ProposalKind.RETIRE)
        workflow.proposal_approve(proposal=first, actor=curator)
        assert selectors.proposal_next_in_queue(curator) == second
        assert selectors.proposal_next_in_queue(curator, after=second) is None

    def test_nothing_is_offered_to_someone_still_deciding_or_to_a_contributor(
        self, client_for, contributor, other_contributor, curator
    ):
        open_one = new_proposal(contributor, kind=ProposalKind.EDIT)
        new_proposal(other_contributor, kind=ProposalKind.RETIRE)
        assert "Next in the queue" not in client_for(curator).get(open_one.get_absolute_url()).text
        workflow.proposal_approve(proposal=open_one, actor=curator)
        assert (
            "Next in the queue" not in client_for(contributor).get(open_one.get_absolute_url()).text
        )

    def test_the_next_one_is_found_in_one_query(
        self, contributor, curator, django_assert_num_queries
    ):
        for _ in range(5):
            new_proposal(contributor, kind=ProposalKind.EDIT)
        with django_assert_num_queries(1):
            assert selectors.proposal_next_in_queue(curator) is not None


class TestPossibleDuplicates:
    def test_the_proposal_page_lists_the_records_the_author_was_warned_about(
        self, client_for, contributor, curator, record
    ):
        proposal = new_proposal(
            contributor,
            kind=ProposalKind.NEW,
            changes={
                "name": "Adversarial training with synthetic examples",
                "definition": "",
                "source": record.source_id,
                "section_path": "",
                "placements": [],
            },
        )
        warned = selectors.mitigation_list_similar(proposal.changes["name"])
        assert record in [s.mitigation for s in warned]
        response = client_for(curator).get(proposal.get_absolute_url())
        text = squeezed(response)
        assert "Possible duplicates" in text
        for similar in warned:
            assert f'href="{similar.mitigation.get_absolute_url()}"' in text
        assert html_problems(response.text) == []

        workflow.proposal_approve(proposal=proposal, actor=curator)
        assert (
            "Possible duplicates" not in client_for(curator).get(proposal.get_absolute_url()).text
        )

    def test_other_kinds_of_proposal_list_none(self, client_for, contributor, curator):
        proposal = new_proposal(contributor, kind=ProposalKind.EDIT)
        assert selectors.proposal_possible_duplicates(proposal) == []
        assert (
            "Possible duplicates" not in client_for(curator).get(proposal.get_absolute_url()).text
        )


class TestNodePickers:
    def test_the_reclassification_picker_shows_every_node_with_its_definition(
        self, client_for, contributor, record, preliminary
    ):
        url = reverse("review:propose-reclassification", args=[record.public_id])
        response = client_for(contributor).get(url, {"taxonomy": preliminary.slug})
        text = response.text
        nodes = list(TaxonomyNode.objects.filter(taxonomy=preliminary))
        assert text.count('class="node-picker__option depth-') == len(nodes)
        for node in nodes:
            assert f'value="{node.pk}"' in text
            assert node.definition in text.replace("&amp;", "&").replace("&#x27;", "'")
        current = record.classifications.get(taxonomy=preliminary).node
        assert re.search(rf'value="{current.pk}"[^>]*checked', text)
        assert html_problems(text) == []

    def test_the_new_mitigation_form_has_a_picker_per_taxonomy(self, client_for, contributor):
        response = client_for(contributor).get(reverse("review:propose-new"))
        text = response.text
        assert text.count('<fieldset class="node-picker"') == 5
        deploy = TaxonomyNode.objects.get(taxonomy__slug="lifecycle", code="deploy")
        assert deploy.definition in text.replace("&#x27;", "'")
        assert 'type="radio" name="node_lifecycle"' in text
        assert 'value="" ' in text or 'value=""' in text  # "(not classified)" can be chosen
        assert html_problems(text) == []

    def test_a_choice_from_the_picker_is_proposed(self, client_for, contributor, record):
        node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="3.1")
        response = client_for(contributor).post(
            reverse("review:propose-reclassification", args=[record.public_id])
            + "?taxonomy=airm-preliminary",
            {
                "taxonomy": "airm-preliminary",
                "node": node.pk,
                "rationale": "It is evaluated like testing.",
            },
        )
        assert response.status_code == 302
        proposal = record.proposals.latest("pk")
        assert proposal.changes["placements"] == [[node.pk, ""]]
        assert Mitigation.objects.get(pk=record.pk).classifications.filter(node=node).count() == 0
