"""The public pages of the catalog."""

import pytest
from django.urls import reverse

from catalog import services
from catalog.models import Mitigation, SourceDocument, TaxonomyNode
from tests.factories import MitigationFactory, place

pytestmark = pytest.mark.django_db


def top_level_count(response, slug, code):
    for summary in response.context["summaries"]:
        if summary.taxonomy.slug == slug:
            return {item.node.code: item.count for item in summary.top_level}[code]
    raise AssertionError(slug)


def test_home_says_what_the_catalog_is_and_shows_each_taxonomy(client):
    response = client.get(reverse("catalog:home"))
    assert response.status_code == 200
    assert "AI risk mitigations" in response.text
    for name in ("AI Risk Mitigation Taxonomy (preliminary)", "AI lifecycle stage", "Actor"):
        assert name in response.text
    assert "Governance &amp; Oversight Controls" in response.text


def test_home_counts_active_mitigations_in_each_top_level_subtree(client):
    expected = (
        Mitigation.objects.active()
        .filter(
            classifications__node__path__startswith="/2/",
            classifications__taxonomy__slug="airm-preliminary",
        )
        .count()
    )
    response = client.get(reverse("catalog:home"))
    assert top_level_count(response, "airm-preliminary", "2") == expected > 0

    retired = Mitigation.objects.get(name="Adversarial training")
    services.mitigation_retire(mitigation=retired, actor=None, reason="Test")
    response = client.get(reverse("catalog:home"))
    assert top_level_count(response, "airm-preliminary", "2") == expected - 1


def test_home_counts_a_mitigation_once_per_subtree_in_a_multi_valued_taxonomy(client):
    from tests.factories import TaxonomyFactory, TaxonomyNodeFactory

    taxonomy = TaxonomyFactory(multi_valued=True, slug="multi")
    top = TaxonomyNodeFactory(taxonomy=taxonomy, code="A")
    left = TaxonomyNodeFactory(taxonomy=taxonomy, code="A.1", parent=top)
    right = TaxonomyNodeFactory(taxonomy=taxonomy, code="A.2", parent=top)
    MitigationFactory(placements=place(left, right))
    response = client.get(reverse("catalog:home"))
    assert top_level_count(response, "multi", "A") == 1


def test_home_query_count_does_not_grow_with_the_catalog(client, django_assert_num_queries):
    with django_assert_num_queries(4):
        client.get(reverse("catalog:home"))
    node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="1.2")
    source = SourceDocument.objects.first()
    MitigationFactory.create_batch(25, source=source, placements=place(node))
    with django_assert_num_queries(4):
        client.get(reverse("catalog:home"))


def test_home_refuses_to_change_state(client):
    assert client.post(reverse("catalog:home")).status_code == 405


def test_pages_send_security_headers(client):
    response = client.get(reverse("catalog:home"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
