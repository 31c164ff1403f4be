"""Invariants the database itself enforces, whatever code writes to it."""

import pytest
from django.db import IntegrityError, transaction

from catalog.models import (
    Classification,
    Mitigation,
    format_public_id,
    parse_public_id,
)
from tests.factories import (
    MitigationFactory,
    SourceDocumentFactory,
    TaxonomyFactory,
    TaxonomyNodeFactory,
    place,
)

pytestmark = pytest.mark.django_db


def raises_integrity_error():
    return pytest.raises(IntegrityError)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("A0983", 983),
        ("A0983_Gipiškis2024", 983),
        ("A12345", 12345),
        ("a0983", 983),
        ("a0983_Gipiškis2024", 983),
        (" A0983 ", 983),
        ("A", None),
        ("A12345678", None),
        ("AA0983", None),
        ("B12", None),
    ],
)
def test_public_ids_parse_in_both_the_catalog_and_mit_export_forms_in_any_case(text, number):
    assert parse_public_id(text) == number


def test_public_ids_are_zero_padded_to_four_digits():
    assert format_public_id(7) == "A0007"
    assert format_public_id(12345) == "A12345"


def test_node_codes_are_unique_within_a_taxonomy():
    node = TaxonomyNodeFactory(code="1.1")
    with raises_integrity_error(), transaction.atomic():
        node.__class__.objects.create(taxonomy=node.taxonomy, code="1.1", name="Twin", path="/x/")


def test_the_same_code_may_appear_in_two_taxonomies():
    TaxonomyNodeFactory(code="1.1")
    TaxonomyNodeFactory(code="1.1")  # a new taxonomy each time


def test_public_id_numbers_are_unique():
    existing = MitigationFactory()
    with raises_integrity_error(), transaction.atomic():
        Mitigation.objects.create(number=existing.number, name="Copy", source=existing.source)


def test_a_single_valued_taxonomy_holds_one_node_per_mitigation_in_the_database():
    taxonomy = TaxonomyFactory(multi_valued=False)
    first, second = TaxonomyNodeFactory.create_batch(2, taxonomy=taxonomy)
    mitigation = MitigationFactory(placements=place(first))
    with raises_integrity_error(), transaction.atomic():
        Classification.objects.create(mitigation=mitigation, taxonomy=taxonomy, node=second)
    assert mitigation.classifications.count() == 1


def test_a_multi_valued_taxonomy_holds_several_nodes_per_mitigation():
    taxonomy = TaxonomyFactory(multi_valued=True)
    first, second = TaxonomyNodeFactory.create_batch(2, taxonomy=taxonomy)
    mitigation = MitigationFactory(placements=place(first, second))
    assert mitigation.classifications.count() == 2
    with raises_integrity_error(), transaction.atomic():
        Classification.objects.create(mitigation=mitigation, taxonomy=taxonomy, node=first)


def test_a_classification_node_must_belong_to_its_taxonomy():
    node = TaxonomyNodeFactory()
    elsewhere = TaxonomyFactory()
    mitigation = MitigationFactory()
    with raises_integrity_error(), transaction.atomic():
        Classification.objects.create(mitigation=mitigation, taxonomy=elsewhere, node=node)


def test_a_merged_record_must_name_its_target():
    mitigation = MitigationFactory()
    with raises_integrity_error(), transaction.atomic():
        Mitigation.objects.filter(pk=mitigation.pk).update(status=Mitigation.Status.MERGED)


def test_only_a_merged_record_names_a_target():
    mitigation, other = MitigationFactory.create_batch(2)
    with raises_integrity_error(), transaction.atomic():
        Mitigation.objects.filter(pk=mitigation.pk).update(merged_into=other)


def test_a_record_cannot_be_merged_into_itself():
    mitigation = MitigationFactory()
    with raises_integrity_error(), transaction.atomic():
        Mitigation.objects.filter(pk=mitigation.pk).update(
            status=Mitigation.Status.MERGED, merged_into=mitigation
        )


def test_a_merged_record_points_at_an_active_record():
    source = SourceDocumentFactory()
    retired = MitigationFactory(source=source)
    Mitigation.objects.filter(pk=retired.pk).update(status=Mitigation.Status.RETIRED)
    duplicate = MitigationFactory(source=source)
    with raises_integrity_error(), transaction.atomic():
        Mitigation.objects.filter(pk=duplicate.pk).update(
            status=Mitigation.Status.MERGED, merged_into=retired
        )


def test_a_merge_target_cannot_be_retired_while_records_point_at_it():
    target, duplicate = MitigationFactory.create_batch(2)
    Mitigation.objects.filter(pk=duplicate.pk).update(
        status=Mitigation.Status.MERGED, merged_into=target
    )
    with raises_integrity_error(), transaction.atomic():
        Mitigation.objects.filter(pk=target.pk).update(status=Mitigation.Status.RETIRED)


def test_a_node_path_runs_from_the_root():
    parent = TaxonomyNodeFactory(code="2")
    child = TaxonomyNodeFactory(code="2.3", taxonomy=parent.taxonomy, parent=parent)
    assert child.path == "/2/2.3/"
    assert child.depth == 1
    assert child.ancestor_codes == ["2"]


def test_every_curated_model_keeps_a_history_as_the_readme_says():
    from catalog.models import SourceDocument, Taxonomy, TaxonomyNode

    for model in (Taxonomy, TaxonomyNode, SourceDocument, Mitigation, Classification):
        assert {"history_ref", "history_change_reason", "history_user"} <= {
            field.name for field in model.history.model._meta.fields
        }
