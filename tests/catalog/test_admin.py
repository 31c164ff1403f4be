"""The admin: every model browsable and searchable, every save through the services."""

import pytest
from django.urls import reverse

from catalog.models import Classification, Mitigation, SourceDocument, Taxonomy, TaxonomyNode
from tests.factories import MitigationFactory, place

pytestmark = pytest.mark.django_db

MODELS = [Taxonomy, TaxonomyNode, SourceDocument, Mitigation, Classification]


def admin_url(model, view, *args):
    return reverse(f"admin:catalog_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def admin_client_(client_for, admin):
    return client_for(admin)


@pytest.fixture
def adversarial(db):
    return Mitigation.objects.get(name="Adversarial training")


def change_form_data(mitigation, **overrides):
    data = {
        "name": mitigation.name,
        "definition": mitigation.definition,
        "source": mitigation.source_id,
        "section_path": mitigation.section_path,
        "change_reason": "",
    }
    for row in mitigation.classifications.select_related("taxonomy"):
        field = "taxonomy_" + row.taxonomy.slug.replace("-", "_")
        data[field] = row.node_id
        data[f"{field}_reasoning"] = row.reasoning
    data.update(overrides)
    return data


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_each_model_has_a_changelist_search_change_and_history_page(admin_client_, model):
    obj = model.objects.first()
    assert admin_client_.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client_.get(admin_url(model, "changelist"), {"q": "model"}).status_code == 200
    assert admin_client_.get(admin_url(model, "change", obj.pk)).status_code == 200
    history = admin_client_.get(admin_url(model, "history", obj.pk))
    assert history.status_code == 200
    assert "Reference data" in history.text or "Demo content" in history.text


def test_nothing_curated_can_be_deleted_from_the_admin(admin_client_, adversarial):
    response = admin_client_.post(admin_url(Mitigation, "delete", adversarial.pk), {"post": "yes"})
    assert response.status_code == 403
    assert Mitigation.objects.filter(pk=adversarial.pk).exists()


def test_a_contributor_cannot_open_the_admin(client_for, contributor, adversarial):
    response = client_for(contributor).get(admin_url(Mitigation, "change", adversarial.pk))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_mitigations_can_be_found_by_public_id(admin_client_, adversarial):
    response = admin_client_.get(admin_url(Mitigation, "changelist"), {"q": adversarial.public_id})
    assert adversarial.name in response.text
    assert "Robustness certificates" not in response.text


def test_an_admin_edit_goes_through_the_service_with_the_given_reason(
    admin_client_, admin, adversarial
):
    before = adversarial.history.count()
    response = admin_client_.post(
        admin_url(Mitigation, "change", adversarial.pk),
        change_form_data(adversarial, name="Adversarial training (robust)", change_reason="Typo"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    latest = adversarial.history.first()
    assert adversarial.history.count() == before + 1
    assert (latest.name, latest.history_user, latest.history_change_reason) == (
        "Adversarial training (robust)",
        admin,
        "Typo",
    )


def test_an_unchanged_admin_save_leaves_no_history(admin_client_, adversarial):
    before = (adversarial.history.count(), Classification.history.count())
    response = admin_client_.post(
        admin_url(Mitigation, "change", adversarial.pk), change_form_data(adversarial)
    )
    assert response.status_code == 302
    assert (adversarial.history.count(), Classification.history.count()) == before


def test_an_admin_reclassification_is_a_classification_history_row(
    admin_client_, admin, adversarial
):
    new_node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="3.1")
    response = admin_client_.post(
        admin_url(Mitigation, "change", adversarial.pk),
        change_form_data(
            adversarial, taxonomy_airm_preliminary=new_node.pk, change_reason="It is testing"
        ),
    )
    assert response.status_code == 302
    row = adversarial.classifications.get(taxonomy__slug="airm-preliminary")
    assert row.node == new_node
    latest = Classification.history.filter(id=row.pk).first()
    assert (latest.history_user, latest.history_change_reason) == (admin, "It is testing")
    assert adversarial.history.count() == 1  # the fields themselves did not change
    history_page = admin_client_.get(admin_url(Mitigation, "history", adversarial.pk))
    assert "It is testing" in history_page.text
    assert "3.1 Testing &amp; Auditing" in history_page.text


def test_an_admin_can_add_a_mitigation_with_the_next_public_id(admin_client_, admin):
    source = SourceDocument.objects.get(short_ref="NIST2024")
    node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="4.1")
    expected = Mitigation.objects.order_by("-number").first().number + 1
    response = admin_client_.post(
        admin_url(Mitigation, "add"),
        {
            "number": "",
            "name": "Publish a model card",
            "definition": "",
            "source": source.pk,
            "section_path": "MAP > MAP 1.1",
            "taxonomy_airm_preliminary": node.pk,
            "taxonomy_airm_preliminary_reasoning": "Documentation of the system.",
            "change_reason": "",
        },
    )
    assert response.status_code == 302
    created = Mitigation.objects.get(name="Publish a model card")
    assert created.number == expected
    assert created.classifications.get().node == node
    assert created.history.get().history_change_reason == "Added in the admin"


def test_a_merged_record_is_read_only_in_the_admin(admin_client_):
    target, duplicate = Mitigation.objects.order_by("number")[:2]
    from catalog import services

    services.mitigation_merge(mitigation=duplicate, into=target, actor=None, reason="Same")
    response = admin_client_.post(
        admin_url(Mitigation, "change", duplicate.pk), change_form_data(duplicate, name="Edited")
    )
    assert response.status_code == 403
    duplicate.refresh_from_db()
    assert duplicate.name != "Edited"


def test_an_admin_edit_of_a_source_document_is_recorded(admin_client_, admin):
    source = SourceDocument.objects.get(short_ref="Casper2025")
    data = {
        field: getattr(source, field) or ""
        for field in (
            "short_ref",
            "document_id",
            "title",
            "first_author",
            "authors",
            "year",
            "abstract",
            "description",
            "url",
            "doi",
            "doc_type",
        )
    }
    data.update(title="Pitfalls of evidence-based AI policy (revised)", change_reason="Title")
    response = admin_client_.post(admin_url(SourceDocument, "change", source.pk), data)
    assert response.status_code == 302
    latest = source.history.first()
    assert (latest.history_user, latest.history_change_reason) == (admin, "Title")


def test_mitigation_changelist_query_count_does_not_grow_with_rows(
    admin_client_, django_assert_max_num_queries
):
    MitigationFactory.create_batch(30, placements=place())
    with django_assert_max_num_queries(12):
        admin_client_.get(admin_url(Mitigation, "changelist"))
