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


class TestMitigationDetail:
    def test_shows_every_field_and_each_classification_with_its_breadcrumb(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        response = client.get(mitigation.get_absolute_url())
        assert response.status_code == 200
        text = response.text
        assert mitigation.public_id in text
        assert "Risk sources and risk management measures" in text
        assert "2 Technical &amp; Security Controls ›" in text
        assert "2.3 Model Safety Engineering" in text
        assert "1 AI System › 1.1 Model › " in text
        assert "1.1.2 Learning Objectives" in text

    @pytest.mark.parametrize("form", ["A0{n}", "A{n}_Gipiškis2024"])
    def test_other_forms_of_the_public_id_redirect_to_the_canonical_address(self, client, form):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        response = client.get(f"/mitigations/{form.format(n=mitigation.number)}/")
        assert response.status_code == 301
        assert response["Location"] == mitigation.get_absolute_url()

    def test_an_unknown_id_is_a_404(self, client):
        assert client.get("/mitigations/A0000001/").status_code == 404

    def test_a_merged_record_still_resolves_and_says_where_it_went(self, client):
        target, duplicate = Mitigation.objects.order_by("number")[:2]
        services.mitigation_merge(mitigation=duplicate, into=target, actor=None, reason="Same")
        response = client.get(duplicate.get_absolute_url())
        assert response.status_code == 200
        assert "merged into" in response.text
        assert target.get_absolute_url() in response.text

    def test_a_retired_record_still_resolves_and_says_why(self, client):
        mitigation = Mitigation.objects.get(name="Robustness certificates")
        services.mitigation_retire(mitigation=mitigation, actor=None, reason="Out of scope")
        response = client.get(mitigation.get_absolute_url())
        assert response.status_code == 200
        assert "retired: Out of scope" in response.text

    def test_text_is_escaped(self, client):
        mitigation = MitigationFactory(name="<script>alert(1)</script>")
        response = client.get(mitigation.get_absolute_url())
        assert "<script>alert(1)</script>" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text

    def test_query_count_is_fixed(self, client, django_assert_num_queries):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        # 3 for the record, + 1 for the review panel (settings.CATALOG_MITIGATION_PANELS).
        with django_assert_num_queries(4):
            client.get(mitigation.get_absolute_url())
