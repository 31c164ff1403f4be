"""Every write path leaves exactly the history it should, with who, why and what caused it."""

import pytest
from django.core.exceptions import ValidationError

from catalog import services
from catalog.models import Classification, Mitigation, SourceDocument, Taxonomy, TaxonomyNode
from tests.factories import (
    MitigationFactory,
    SourceDocumentFactory,
    TaxonomyFactory,
    TaxonomyNodeFactory,
    place,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def taxonomy():
    return TaxonomyFactory(slug="prelim", multi_valued=False)


@pytest.fixture
def nodes(taxonomy):
    top = TaxonomyNodeFactory(taxonomy=taxonomy, code="2", name="Technical")
    return {
        "2": top,
        "2.3": TaxonomyNodeFactory(taxonomy=taxonomy, code="2.3", parent=top, name="Safety"),
        "3.1": TaxonomyNodeFactory(taxonomy=taxonomy, code="3.1", name="Testing"),
    }


def history_counts():
    return (Mitigation.history.count(), Classification.history.count())


class TestMitigationCreate:
    def test_writes_one_history_row_per_record_with_actor_reason_and_ref(self, nodes, curator):
        mitigation = services.mitigation_create(
            name="Adversarial training",
            source=SourceDocumentFactory(),
            placements=place(nodes["2.3"], reasoning="Hardens the model."),
            actor=curator,
            reason="Proposed by Cora",
            ref="proposal:7",
        )
        (row,) = mitigation.history.all()
        assert (row.history_type, row.history_user, row.history_change_reason, row.history_ref) == (
            "+",
            curator,
            "Proposed by Cora",
            "proposal:7",
        )
        (classification_row,) = Classification.history.filter(mitigation_id=mitigation.pk)
        assert classification_row.history_user == curator
        assert classification_row.history_ref == "proposal:7"
        assert classification_row.reasoning == "Hardens the model."

    def test_takes_the_next_number_above_the_highest_ever_used(self):
        MitigationFactory(number=99941)
        assert MitigationFactory().public_id == "A99942"

    def test_refuses_a_number_that_is_taken(self):
        MitigationFactory(number=5)
        with pytest.raises(ValidationError) as error:
            MitigationFactory(number=5)
        assert "A0005 is already taken" in str(error.value)

    def test_needs_a_reason(self):
        with pytest.raises(ValidationError) as error:
            MitigationFactory(reason="  ")
        assert "reason" in error.value.message_dict

    def test_is_atomic_when_a_classification_is_invalid(self, nodes):
        other = TaxonomyNodeFactory()  # another taxonomy
        before = history_counts()
        with pytest.raises(ValidationError):
            services.mitigation_create(
                name="Half written",
                source=SourceDocumentFactory(),
                placements=place(nodes["2.3"], nodes["3.1"]),  # two nodes, single-valued
                actor=None,
                reason="test",
            )
        with pytest.raises(ValidationError):
            services.mitigation_create(
                name="Half written",
                source=SourceDocumentFactory(),
                placements=[services.Placement(node=other), *place(nodes["2.3"], nodes["2.3"])],
                actor=None,
                reason="test",
            )
        assert not Mitigation.objects.filter(name="Half written").exists()
        assert history_counts() == before

    def test_rejects_an_empty_name_naming_the_field(self):
        with pytest.raises(ValidationError) as error:
            MitigationFactory(name="")
        assert "name" in error.value.message_dict


class TestMitigationUpdate:
    def test_records_the_changed_fields_with_old_and_new_values(self, curator):
        mitigation = MitigationFactory(name="Old name")
        _, changed = services.mitigation_update(
            mitigation=mitigation,
            data={"name": "New name", "definition": mitigation.definition},
            actor=curator,
            reason="Clearer wording",
        )
        assert changed == ["name"]
        latest, previous = mitigation.history.all()[:2]
        delta = latest.diff_against(previous)
        assert [(c.field, c.old, c.new) for c in delta.changes] == [
            ("name", "Old name", "New name")
        ]
        assert latest.history_user == curator
        assert latest.history_change_reason == "Clearer wording"

    def test_an_unchanged_save_leaves_no_history(self, curator):
        mitigation = MitigationFactory()
        before = history_counts()
        _, changed = services.mitigation_update(
            mitigation=mitigation,
            data={
                "name": mitigation.name,
                "definition": mitigation.definition,
                "source": mitigation.source,
                "section_path": mitigation.section_path,
            },
            actor=curator,
            reason="No-op",
        )
        assert changed == []
        assert history_counts() == before

    def test_refuses_fields_it_does_not_own(self):
        mitigation = MitigationFactory()
        with pytest.raises(ValidationError) as error:
            services.mitigation_update(
                mitigation=mitigation, data={"status": "retired"}, actor=None, reason="x"
            )
        assert "status" in error.value.message_dict
        mitigation.refresh_from_db()
        assert mitigation.status == Mitigation.Status.ACTIVE

    def test_refuses_to_edit_a_merged_record(self):
        target, duplicate = MitigationFactory.create_batch(2)
        services.mitigation_merge(mitigation=duplicate, into=target, actor=None, reason="Dup")
        with pytest.raises(ValidationError, match="merged into"):
            services.mitigation_update(
                mitigation=duplicate, data={"name": "Changed"}, actor=None, reason="x"
            )


class TestMitigationReclassify:
    def test_moves_the_single_classification_and_records_the_node_change(self, nodes, curator):
        mitigation = MitigationFactory(placements=place(nodes["2.3"]))
        changed = services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=nodes["3.1"].taxonomy,
            placements=place(nodes["3.1"], reasoning="It is a test, not a safeguard."),
            actor=curator,
            reason="Reclassified after review",
            ref="proposal:3",
        )
        assert changed is True
        (row,) = mitigation.classifications.all()
        assert row.node == nodes["3.1"]
        latest, previous = Classification.history.filter(id=row.pk)[:2]
        delta = latest.diff_against(previous)
        assert {c.field for c in delta.changes} == {"node", "reasoning"}
        assert latest.history_type == "~"
        assert (latest.history_user, latest.history_ref) == (curator, "proposal:3")
        assert mitigation.history.count() == 1  # the mitigation's own fields did not change

    def test_the_same_placement_again_changes_nothing(self, nodes):
        mitigation = MitigationFactory(placements=place(nodes["2.3"], reasoning="Because."))
        before = history_counts()
        changed = services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=nodes["2.3"].taxonomy,
            placements=place(nodes["2.3"], reasoning="Because."),
            actor=None,
            reason="again",
        )
        assert changed is False
        assert history_counts() == before

    def test_an_empty_placement_removes_the_classification_with_history(self, nodes):
        mitigation = MitigationFactory(placements=place(nodes["2.3"]))
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=nodes["2.3"].taxonomy,
            placements=[],
            actor=None,
            reason="Unclassified",
        )
        assert not mitigation.classifications.exists()
        assert Classification.history.filter(history_type="-").count() == 1

    def test_a_multi_valued_taxonomy_adds_and_removes_nodes(self):
        taxonomy = TaxonomyFactory(multi_valued=True)
        a, b, c = TaxonomyNodeFactory.create_batch(3, taxonomy=taxonomy)
        mitigation = MitigationFactory(placements=place(a, b))
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=taxonomy,
            placements=place(b, c),
            actor=None,
            reason="Moved",
        )
        assert set(mitigation.classifications.values_list("node", flat=True)) == {b.pk, c.pk}
        types = sorted(
            Classification.history.filter(mitigation_id=mitigation.pk).values_list(
                "history_type", flat=True
            )
        )
        assert types == ["+", "+", "+", "-"]

    def test_refuses_a_node_of_another_taxonomy(self, nodes):
        mitigation = MitigationFactory(placements=place(nodes["2.3"]))
        stranger = TaxonomyNodeFactory()
        with pytest.raises(ValidationError, match="is not a node of"):
            services.mitigation_reclassify(
                mitigation=mitigation,
                taxonomy=nodes["2.3"].taxonomy,
                placements=place(stranger),
                actor=None,
                reason="x",
            )
        assert mitigation.classifications.get().node == nodes["2.3"]

    def test_marks_the_mitigation_as_recently_changed(self, nodes):
        mitigation = MitigationFactory(placements=place(nodes["2.3"]))
        before = Mitigation.objects.get(pk=mitigation.pk).updated_at
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=nodes["2.3"].taxonomy,
            placements=place(nodes["3.1"]),
            actor=None,
            reason="x",
        )
        assert Mitigation.objects.get(pk=mitigation.pk).updated_at > before


class TestRetireMergeRestore:
    def test_retiring_keeps_the_record_resolvable_and_says_why(self, curator):
        mitigation = MitigationFactory()
        services.mitigation_retire(mitigation=mitigation, actor=curator, reason="Out of scope")
        found = Mitigation.objects.by_public_id(mitigation.public_id).get()
        assert (found.status, found.status_note) == (Mitigation.Status.RETIRED, "Out of scope")
        assert found.history.first().history_change_reason == "Out of scope"

    def test_merging_points_at_the_target_and_follows_earlier_merges(self):
        first, second, third = MitigationFactory.create_batch(3)
        services.mitigation_merge(mitigation=first, into=second, actor=None, reason="Same")
        services.mitigation_merge(mitigation=second, into=third, actor=None, reason="Same again")
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.merged_into, second.merged_into) == (third, third)

    @pytest.mark.parametrize("target_state", ["self", "retired"])
    def test_merging_into_itself_or_an_inactive_record_is_refused(self, target_state):
        mitigation, target = MitigationFactory.create_batch(2)
        if target_state == "self":
            target = mitigation
        else:
            services.mitigation_retire(mitigation=target, actor=None, reason="Gone")
        with pytest.raises(ValidationError):
            services.mitigation_merge(mitigation=mitigation, into=target, actor=None, reason="x")
        mitigation.refresh_from_db()
        assert mitigation.status == Mitigation.Status.ACTIVE

    def test_retiring_a_merge_target_retires_what_was_merged_into_it(self):
        target, duplicate = MitigationFactory.create_batch(2)
        services.mitigation_merge(mitigation=duplicate, into=target, actor=None, reason="Same")
        services.mitigation_retire(mitigation=target, actor=None, reason="Withdrawn")
        duplicate.refresh_from_db()
        assert (duplicate.status, duplicate.merged_into) == (Mitigation.Status.RETIRED, None)

    def test_restoring_brings_a_record_back(self):
        mitigation = MitigationFactory()
        services.mitigation_retire(mitigation=mitigation, actor=None, reason="Gone")
        services.mitigation_restore(mitigation=mitigation, actor=None, reason="Back")
        mitigation.refresh_from_db()
        assert mitigation.status == Mitigation.Status.ACTIVE
        assert mitigation.history.count() == 3


class TestTaxonomiesAndSources:
    def test_recoding_a_node_moves_its_subtree(self, nodes):
        grandchild = TaxonomyNodeFactory(
            taxonomy=nodes["2"].taxonomy, code="2.3.1", parent=nodes["2.3"]
        )
        services.taxonomy_node_update(
            node=nodes["2"], data={"code": "T"}, actor=None, reason="Recode"
        )
        grandchild.refresh_from_db()
        assert grandchild.path == "/T/2.3/2.3.1/"

    def test_a_node_cannot_move_below_itself(self, nodes):
        with pytest.raises(ValidationError) as error:
            services.taxonomy_node_update(
                node=nodes["2"], data={"parent": nodes["2.3"]}, actor=None, reason="x"
            )
        assert "parent" in error.value.message_dict

    def test_a_node_parent_must_be_in_the_same_taxonomy(self, nodes):
        with pytest.raises(ValidationError) as error:
            TaxonomyNodeFactory(parent=nodes["2"])  # a new taxonomy
        assert "parent" in error.value.message_dict

    def test_a_taxonomy_cannot_become_single_valued_while_records_hold_several_nodes(self):
        taxonomy = TaxonomyFactory(multi_valued=True)
        a, b = TaxonomyNodeFactory.create_batch(2, taxonomy=taxonomy)
        MitigationFactory(placements=place(a, b))
        with pytest.raises(ValidationError) as error:
            services.taxonomy_update(
                taxonomy=taxonomy, data={"multi_valued": False}, actor=None, reason="x"
            )
        assert "multi_valued" in error.value.message_dict
        assert Taxonomy.objects.get(pk=taxonomy.pk).multi_valued

    def test_each_curated_model_records_updates_and_skips_unchanged_saves(self, curator):
        taxonomy = TaxonomyFactory()
        node = TaxonomyNodeFactory(taxonomy=taxonomy)
        source = SourceDocumentFactory()
        cases = [
            (services.taxonomy_update, "taxonomy", taxonomy, {"name": "Renamed"}),
            (services.taxonomy_node_update, "node", node, {"definition": "Sharper."}),
            (services.source_document_update, "source", source, {"year": 2023}),
        ]
        for service, keyword, obj, data in cases:
            before = obj.history.count()
            service(**{keyword: obj}, data=data, actor=curator, reason="Fix")
            service(**{keyword: obj}, data=data, actor=curator, reason="Fix again")
            assert obj.history.count() == before + 1, service.__name__
            assert obj.history.first().history_user == curator

    def test_source_document_values_are_validated_naming_the_field(self):
        with pytest.raises(ValidationError) as error:
            SourceDocumentFactory(year=1066)
        assert "year" in error.value.message_dict
        assert not SourceDocument.objects.filter(year=1066).exists()


def test_history_rows_carry_no_search_vector():
    history_fields = {f.name for f in Mitigation.history.model._meta.fields}
    assert "search_vector" not in history_fields
    assert {"history_user", "history_change_reason", "history_ref"} <= history_fields


def test_node_history_does_not_track_the_derived_path():
    assert "path" not in {f.name for f in TaxonomyNode.history.model._meta.fields}


class TestBulkPreviewsAndWrites:
    """A bulk upsert's dry run and its write compare records the same way."""

    def test_a_preview_names_exactly_the_fields_the_write_changes(self, curator):
        source = SourceDocumentFactory(year=2023, title="Old title", doi="")
        data = {"year": "2023", "title": "New title", "doi": None, "url": source.url}
        item = services.SourceDocumentUpsert(short_ref=source.short_ref, data=data)
        (preview,) = services.source_document_bulk_upsert(
            items=[item], actor=curator, reason="Fix", dry_run=True
        )
        assert [(c.field, c.old, c.new) for c in preview.changes] == [
            ("title", "Old title", "New title")
        ]
        (written,) = services.source_document_bulk_upsert(items=[item], actor=curator, reason="Fix")
        record = source.history.first()
        changed = record.diff_against(record.prev_record).changed_fields
        assert changed == [c.field for c in written.changes] == ["title"]

    def test_a_parent_created_in_the_same_call_shows_as_a_change(self, taxonomy, nodes, curator):
        items = [
            services.TaxonomyNodeUpsert(taxonomy, "4", {"name": "Transparency"}),
            services.TaxonomyNodeUpsert(taxonomy, "4.1", {"name": "Docs", "parent": "4"}),
        ]
        outcomes = services.taxonomy_node_bulk_upsert(
            items=items, actor=curator, reason="New branch", dry_run=True
        )
        assert ("parent", "", "4") in [(c.field, c.old, c.new) for c in outcomes[1].changes]
        services.taxonomy_node_bulk_upsert(items=items, actor=curator, reason="New branch")
        assert TaxonomyNode.objects.get(taxonomy=taxonomy, code="4.1").parent.code == "4"
