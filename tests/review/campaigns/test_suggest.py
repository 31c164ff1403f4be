"""Suggested nodes: text neighbours and co-occurrence, the record itself left out, cached."""

from __future__ import annotations

import pytest

from catalog import services
from catalog.models import Mitigation, Taxonomy
from catalog.version import catalog_version
from review.campaigns import suggest
from review.campaigns.suggest import Suggestion, suggestions
from tests.factories import MitigationFactory, TaxonomyFactory, TaxonomyNodeFactory, place

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_models():
    suggest.clear_models()
    yield
    suggest.clear_models()


@pytest.fixture
def scheme():
    """A taxonomy with two nodes, three records on watermarks at one and three on boards at
    the other, each also placed in a second taxonomy that follows the same split."""
    target = TaxonomyFactory(slug="target")
    marks = TaxonomyNodeFactory(taxonomy=target, code="marks", name="Watermarking")
    boards = TaxonomyNodeFactory(taxonomy=target, code="boards", name="Boards")
    other = TaxonomyFactory(slug="other")
    technical = TaxonomyNodeFactory(taxonomy=other, code="tech", name="Technical")
    governance = TaxonomyNodeFactory(taxonomy=other, code="gov", name="Governance")
    for topic in ("images", "audio", "text"):
        MitigationFactory(
            name=f"Watermark generated {topic}",
            definition=f"Embed a provenance watermark in generated {topic} content.",
            placements=place(marks, technical),
        )
        MitigationFactory(
            name=f"Board committee reviews {topic} launches",
            definition=f"A board safety committee oversees decisions about {topic} models.",
            placements=place(boards, governance),
        )
    return {
        "target": target,
        "marks": marks,
        "boards": boards,
        "technical": technical,
        "governance": governance,
    }


def test_a_record_gets_the_node_of_the_records_its_text_resembles(scheme):
    record = MitigationFactory(
        name="Watermark synthetic video",
        definition="Embed a provenance watermark in generated video content.",
    )
    result = suggestions(record, scheme["target"], k=3)
    assert [s.node for s in result] == [scheme["marks"], scheme["boards"]][: len(result)]
    assert all(isinstance(s, Suggestion) for s in result)
    assert result[0].score > 0.5
    assert all(0.0 <= s.score <= 1.0 for s in result)
    assert result[0].neighbours and all(n.startswith("A") for n in result[0].neighbours)


def test_k_limits_the_suggestions_and_scores_come_best_first(scheme):
    record = MitigationFactory(name="Watermark and board review", definition="")
    result = suggestions(record, scheme["target"], k=1)
    assert len(result) == 1
    both = suggestions(record, scheme["target"], k=5)
    assert len(both) == 2  # only two nodes
    assert both[0].score >= both[1].score
    assert sum(s.score for s in both) <= 1.0 + 1e-9
    assert suggestions(record, scheme["target"], k=0) == []


def test_other_classifications_suggest_through_co_occurrence(scheme):
    record = MitigationFactory(
        name="Quarterly quokka census",
        definition="Nothing in common with any other record.",
        section_path="Fauna",
        placements=place(scheme["governance"]),
    )
    result = suggestions(record, scheme["target"], k=2)
    assert result[0].node == scheme["boards"]
    assert result[0].cooccurrence_score > 0.5
    assert result[0].text_score == 0.0


def test_the_record_itself_is_never_its_own_evidence(scheme):
    # The only record with these words sits at "boards"; with itself left out, nothing in its
    # text or its other classifications points there, and its own placement is not read.
    record = MitigationFactory(
        name="Zebra quokka wombat",
        definition="Platypus echidna.",
        section_path="Fauna",
        placements=place(scheme["boards"], scheme["technical"]),
    )
    result = suggestions(record, scheme["target"], k=2)
    assert result[0].node == scheme["marks"]
    assert all(record.public_id not in s.neighbours for s in result)


def test_a_taxonomy_with_nothing_classified_suggests_nothing(scheme):
    empty = TaxonomyFactory(slug="empty")
    TaxonomyNodeFactory(taxonomy=empty, code="x")
    record = Mitigation.objects.get(number=9001)
    assert suggestions(record, empty) == []
    assert suggestions(record, TaxonomyFactory(slug="no-nodes")) == []


def test_a_retired_record_still_gets_suggestions_from_its_text(scheme, curator):
    record = MitigationFactory(
        name="Watermark generated maps",
        definition="Embed a provenance watermark in generated map content.",
        placements=place(scheme["technical"]),
    )
    services.mitigation_retire(mitigation=record, actor=curator, reason="Duplicate")
    record.refresh_from_db()
    result = suggestions(record, scheme["target"], k=1)
    assert result[0].node == scheme["marks"]


def test_demo_records_get_nodes_of_the_draft_taxonomy():
    draft = Taxonomy.objects.get(slug="airm-draft")
    record = Mitigation.objects.get(number=9001)
    result = suggestions(record, draft, k=3)
    assert len(result) == 3
    assert {s.node.taxonomy_id for s in result} == {draft.pk}


def test_the_model_is_kept_until_the_catalog_changes(scheme, curator, django_assert_num_queries):
    record = MitigationFactory(name="Watermark generated maps", definition="")
    first = suggest.model_for(scheme["target"])
    assert suggest.model_for(scheme["target"]) is first
    with django_assert_num_queries(1):  # the catalog version
        suggestions(record, scheme["target"])
    services.mitigation_reclassify(
        mitigation=record,
        taxonomy=scheme["target"],
        placements=place(scheme["boards"]),
        actor=curator,
        reason="Test",
    )
    refitted = suggest.model_for(scheme["target"])
    assert refitted is not first
    assert refitted.labelled == first.labelled + 1
    assert catalog_version().key != ""


def test_inside_a_write_the_model_is_fitted_and_not_kept(scheme, curator):
    from catalog.history import change_context

    with change_context(actor=curator, reason="Test"):
        suggest.model_for(scheme["target"])
    assert not suggest._models
