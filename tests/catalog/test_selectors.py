"""The reads behind the public pages (catalog.selectors, catalog.timeline, catalog.coverage)."""

import pytest

from catalog import coverage, history, selectors, services, timeline
from catalog.models import Mitigation, SourceDocument, TallyChange, Taxonomy, TaxonomyNode
from tests.factories import (
    MitigationFactory,
    SourceDocumentFactory,
    TaxonomyFactory,
    TaxonomyNodeFactory,
    place,
)

pytestmark = pytest.mark.django_db


def node(slug, code):
    return TaxonomyNode.objects.select_related("taxonomy").get(taxonomy__slug=slug, code=code)


def taxonomy(slug):
    return Taxonomy.objects.get(slug=slug)


def page_for(mitigation):
    return selectors.mitigation_page(selectors.mitigation_get_for_page(mitigation.number))


class TestTaxonomyTrees:
    def test_nodes_come_depth_first_in_their_order(self):
        (mit,) = selectors.taxonomy_list_with_nodes([taxonomy("airm-preliminary")])
        codes = [n.code for n in mit.node_list]
        assert codes[:10] == ["1", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.X", "2"]
        assert codes[-1] == "X.X"

    def test_a_vocabulary_keeps_its_own_order_not_the_alphabet(self):
        (lifecycle,) = selectors.taxonomy_list_with_nodes([taxonomy("lifecycle")])
        assert [n.code for n in lifecycle.node_list][:2] == ["plan-design", "collect-process-data"]

    def test_children_hang_under_their_parent(self):
        (draft,) = selectors.taxonomy_list_with_nodes([taxonomy("airm-draft")])
        model = next(n for n in draft.node_list if n.code == "1.1")
        assert [c.code for c in model.child_nodes] == ["1.1.1", "1.1.2", "1.1.3"]

    def test_tree_with_counts_counts_active_mitigations_per_subtree(self):
        nodes = selectors.taxonomy_tree_with_counts(taxonomy("airm-draft"))
        by_code = {n.code: n.count for n in nodes}
        expected = (
            Mitigation.objects.active()
            .filter(classifications__node__path__startswith="/1/1.1/")
            .filter(classifications__taxonomy__slug="airm-draft")
            .count()
        )
        assert by_code["1.1"] == expected > 0
        assert by_code["1"] >= by_code["1.1"] + by_code["1.2"]

    def test_tree_with_counts_costs_three_queries(self, django_assert_num_queries):
        mit = taxonomy("airm-preliminary")
        # the nodes; then the tallies: are they up to date, and their sums
        with django_assert_num_queries(3):
            selectors.taxonomy_tree_with_counts(mit)
        TallyChange.objects.create(mitigation_id=0)  # a change waits: the rows are counted
        with django_assert_num_queries(3):
            selectors.taxonomy_tree_with_counts(mit)


class TestSubtreeCounts:
    def test_single_valued_counts_roll_up_the_tree(self):
        (mit,) = selectors.taxonomy_list_with_nodes([taxonomy("airm-preliminary")])
        counts = selectors.node_subtree_counts(mit, mit.node_list, Mitigation.objects.active())
        by_code = {n.code: counts[n.pk] for n in mit.node_list}
        assert by_code["3"] == sum(
            by_code[c] for c in ("3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.X")
        )

    def test_multi_valued_counts_are_distinct_per_subtree(self):
        hazards = TaxonomyFactory(multi_valued=True)
        top = TaxonomyNodeFactory(taxonomy=hazards, code="T")
        a = TaxonomyNodeFactory(taxonomy=hazards, code="T.a", parent=top)
        b = TaxonomyNodeFactory(taxonomy=hazards, code="T.b", parent=top)
        MitigationFactory(placements=place(a, b))
        (hazards,) = selectors.taxonomy_list_with_nodes([hazards])
        counts = selectors.node_subtree_counts(
            hazards, hazards.node_list, Mitigation.objects.active()
        )
        assert counts == {top.pk: 1, a.pk: 1, b.pk: 1}


class TestCountsByStatusAlone:
    """with_status() counts through the records of the other statuses; the counts are those of
    the records themselves."""

    @pytest.fixture(autouse=True)
    def statuses_of_every_kind(self):
        hazards = TaxonomyFactory(multi_valued=True)
        top = TaxonomyNodeFactory(taxonomy=hazards, code="T")
        a = TaxonomyNodeFactory(taxonomy=hazards, code="T.a", parent=top)
        b = TaxonomyNodeFactory(taxonomy=hazards, code="T.b", parent=top)
        placed = node("airm-preliminary", "2.3")
        kept = MitigationFactory(placements=place(placed, a, b))
        retired = MitigationFactory(placements=place(placed, a))
        merged = MitigationFactory(placements=place(node("airm-preliminary", "1.1"), b))
        services.mitigation_retire(mitigation=retired, actor=None, reason="Test")
        services.mitigation_merge(mitigation=merged, into=kept, actor=None, reason="Test")
        self.hazards = hazards

    @pytest.mark.parametrize(
        "statuses", [["active"], ["active", "retired"], ["retired", "merged"], ["merged"]]
    )
    def test_each_taxonomy_counts_as_the_filtered_records_do(self, statuses):
        records = Mitigation.objects.filter(status__in=statuses)
        taxonomies = selectors.taxonomy_list_with_nodes(
            [taxonomy("airm-preliminary"), taxonomy("lifecycle"), self.hazards]
        )
        for each in taxonomies:
            by_status = selectors.node_subtree_counts(
                each, each.node_list, selectors.with_status(statuses)
            )
            assert by_status == selectors.node_subtree_counts(each, each.node_list, records)
            if each.slug != "lifecycle":  # every status has records placed in these two
                assert any(by_status.values()), each.slug
        single = [t for t in taxonomies if not t.multi_valued]
        assert selectors.node_subtree_counts_by_taxonomy(
            single, selectors.with_status(statuses)
        ) == selectors.node_subtree_counts_by_taxonomy(single, records)


class TestAlsoIn:
    def test_lists_a_few_others_in_the_same_node_and_counts_them_all(self):
        mitigation = Mitigation.objects.get(name="Adversarial training")  # 2.3 and draft 1.1.2
        others = Mitigation.objects.active().filter(
            classifications__node=node("airm-preliminary", "2.3")
        )
        page = page_for(mitigation)
        mit = next(a for a in page.also_in if a.node.code == "2.3")
        assert mitigation not in mit.mitigations
        assert mit.total == others.exclude(pk=mitigation.pk).count() == 4
        assert mit.list_total == 5
        assert [m.number for m in mit.mitigations] == sorted(m.number for m in mit.mitigations)

    def test_leaves_out_retired_records_and_vocabularies(self):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        gone = Mitigation.objects.get(name="Restrict web access during AI training")
        services.mitigation_retire(mitigation=gone, actor=None, reason="Test")
        also_in = page_for(mitigation).also_in
        assert {a.node.taxonomy.slug for a in also_in} == {"airm-preliminary", "airm-draft"}
        mit = next(a for a in also_in if a.node.code == "2.3")
        assert gone not in mit.mitigations

    def test_a_category_node_gathers_its_descendants(self):
        category = node("airm-preliminary", "4")
        mitigation = MitigationFactory(placements=place(category))
        mit = next(a for a in page_for(mitigation).also_in if a.node.code == "4")
        below = (
            Mitigation.objects.active()
            .filter(classifications__node__path__startswith="/4/")
            .exclude(pk=mitigation.pk)
            .distinct()
            .order_by("number")
        )
        assert below.count() > 5  # the category's children hold them: a crowded node
        assert mit.mitigations == list(below[:5])
        assert mit.more

    def test_a_crowded_node_names_the_first_few_and_leaves_the_count_to_its_list(self):
        crowded = node("airm-preliminary", "4.4")
        for _ in range(7):
            MitigationFactory(placements=place(crowded))
        mitigation = Mitigation.objects.get(
            name="Public summary of the safety and security framework"
        )
        mit = next(a for a in page_for(mitigation).also_in if a.node.code == "4.4")
        assert (mit.total, mit.list_total, mit.more) == (None, None, True)
        first = Mitigation.objects.active().filter(classifications__node=crowded)
        expected = list(first.exclude(pk=mitigation.pk).order_by("number")[:5])
        assert mit.mitigations == expected

    def test_exactly_five_others_are_all_counted(self):
        crowded = node("airm-preliminary", "4.4")
        mitigation = MitigationFactory(placements=place(crowded))
        others = Mitigation.objects.active().filter(classifications__node=crowded)
        for _ in range(5 - others.exclude(pk=mitigation.pk).count()):
            MitigationFactory(placements=place(crowded))
        mit = next(a for a in page_for(mitigation).also_in if a.node.code == "4.4")
        assert (mit.total, mit.list_total, mit.more) == (5, 6, False)

    def test_a_multi_valued_subtree_counts_each_record_once(self):
        hazards = TaxonomyFactory(multi_valued=True)
        top = TaxonomyNodeFactory(taxonomy=hazards, code="T")
        a = TaxonomyNodeFactory(taxonomy=hazards, code="T.a", parent=top)
        b = TaxonomyNodeFactory(taxonomy=hazards, code="T.b", parent=top)
        twice = MitigationFactory(placements=place(a, b))
        mitigation = MitigationFactory(placements=place(top))
        classifications = list(mitigation.classifications.all())
        _, subtrees = selectors.node_relatives([c.node for c in classifications])
        (found,) = selectors.mitigation_also_in(mitigation, classifications, subtrees)
        assert found.mitigations == [twice]
        assert (found.list_total, found.total, found.more) == (2, 1, False)


class TestSiblingsAndSources:
    def test_siblings_share_the_source_and_the_exact_section(self):
        mitigation = Mitigation.objects.get(name="Adversarial training")  # Model development
        page = page_for(mitigation)
        assert {m.name for m in page.siblings} == {
            "Restrict web access during AI training",
            "Cost-inducing training of AI models specifically for malicious use",
            "Calibrated confidence measures for model predictions",
            "Incorporating the estimation of atypical input samples or classes for better "
            "model reliability",
        }
        assert not page.more_siblings

    def test_a_record_without_a_section_has_no_siblings(self):
        mitigation = MitigationFactory(section_path="")
        assert page_for(mitigation).siblings == []

    def test_source_page_groups_by_section_across_pages(self):
        source = SourceDocumentFactory()
        for section, count in (("A > One", 3), ("B", 2), ("C", 1)):
            for _ in range(count):
                MitigationFactory(source=source, section_path=section)
        first = selectors.source_page(source, 1, per_page=4)
        assert [(s.path, s.count, s.page_number) for s in first.sections] == [
            ("A > One", 3, 1),
            ("B", 2, 1),
            ("C", 1, 2),
        ]
        assert [(g.section.path, len(g.mitigations), g.continued) for g in first.groups] == [
            ("A > One", 3, False),
            ("B", 1, False),
        ]
        second = selectors.source_page(source, 2, per_page=4)
        assert [(g.section.path, len(g.mitigations), g.continued) for g in second.groups] == [
            ("B", 1, True),
            ("C", 1, False),
        ]

    def test_source_counts_only_active_mitigations(self):
        gipiskis = SourceDocument.objects.get(short_ref="Gipiškis2024")
        services.mitigation_retire(
            mitigation=Mitigation.objects.get(name="Adversarial training"), actor=None, reason="T"
        )
        counted = {s.short_ref: s.active_count for s in selectors.source_list_with_counts()}
        assert counted[gipiskis.short_ref] == 9


class TestTimeline:
    def test_a_new_record_has_one_entry_with_its_fields_and_classifications(self, curator):
        mitigation = MitigationFactory(
            name="Canary tokens in training data",
            placements=place(node("airm-preliminary", "3.2"), reasoning="Data checks"),
            actor=curator,
            reason="New from the workshop",
        )
        (entry,) = timeline.mitigation_timeline(mitigation)
        assert entry.created
        assert entry.who == "Cecil"
        assert entry.reason == "New from the workshop"
        changes = {c.label: (c.old, c.new) for c in entry.changes}
        assert changes["Name"] == (None, "Canary tokens in training data")
        assert changes["AI Risk Mitigation Taxonomy (preliminary)"] == (
            None,
            "3.2 Data Governance",
        )

    def test_an_edit_shows_old_and_new_values_with_who_and_why(self, curator, other_curator):
        mitigation = MitigationFactory(name="Old name", actor=curator)
        services.mitigation_update(
            mitigation=mitigation,
            data={"name": "New name", "section_path": "Elsewhere"},
            actor=other_curator,
            reason="Clearer wording",
        )
        latest = timeline.mitigation_timeline(mitigation)[0]
        assert not latest.created
        assert latest.who == "Olga"
        assert latest.reason == "Clearer wording"
        assert {c.label: (c.old, c.new) for c in latest.changes} == {
            "Name": ("Old name", "New name"),
            "Section in source": ("Testing > Before release", "Elsewhere"),
        }

    def test_a_reclassification_reads_as_a_move_between_nodes(self, curator):
        mitigation = MitigationFactory(placements=place(node("airm-preliminary", "2.3")))
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=taxonomy("airm-preliminary"),
            placements=place(node("airm-preliminary", "3.1"), reasoning="It is a test"),
            actor=curator,
            reason="Better fit",
        )
        latest = timeline.mitigation_timeline(mitigation)[0]
        assert latest.reason == "Better fit"
        assert {c.label: (c.old, c.new) for c in latest.changes} == {
            "AI Risk Mitigation Taxonomy (preliminary)": (
                "2.3 Model Safety Engineering",
                "3.1 Testing & Auditing",
            ),
            "AI Risk Mitigation Taxonomy (preliminary): reasoning": (None, "It is a test"),
        }

    def test_a_removed_classification_is_shown(self, curator):
        mitigation = MitigationFactory(placements=place(node("lifecycle", "deploy")))
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=taxonomy("lifecycle"),
            placements=[],
            actor=curator,
            reason="Not a lifecycle matter",
        )
        latest = timeline.mitigation_timeline(mitigation)[0]
        assert [(c.label, c.old, c.new) for c in latest.changes] == [
            ("AI lifecycle stage", "Deploy", None)
        ]

    def test_a_long_text_change_gets_a_word_diff(self):
        before = "Developers " + "carefully " * 10 + "check the model before release."
        mitigation = MitigationFactory(definition=before)
        services.mitigation_update(
            mitigation=mitigation,
            data={"definition": before.replace("before release", "after every update")},
            actor=None,
            reason="Scope",
        )
        (change,) = timeline.mitigation_timeline(mitigation)[0].changes
        assert change.is_long
        assert [s.text for s in change.segments if s.kind == "removed"] == ["before release."]
        assert [s.text for s in change.segments if s.kind == "added"] == ["after every update."]

    def test_retiring_and_the_reference_link_are_shown(self, monkeypatch):
        monkeypatch.setitem(history._ref_resolvers, "proposal", lambda key: f"/proposals/{key}/")
        mitigation = MitigationFactory()
        services.mitigation_retire(
            mitigation=mitigation, actor=None, reason="Duplicate wording", ref="proposal:7"
        )
        latest = timeline.mitigation_timeline(mitigation)[0]
        assert latest.who == "system"
        assert latest.ref_url == "/proposals/7/"
        changes = {c.label: (c.old, c.new) for c in latest.changes}
        assert changes["Status"] == ("Active", "Retired")

    def test_reads_two_queries_however_long_the_history(self, django_assert_num_queries):
        mitigation = MitigationFactory()
        for n in range(6):
            services.mitigation_update(
                mitigation=mitigation, data={"name": f"Name {n}"}, actor=None, reason=f"Edit {n}"
            )
        with django_assert_num_queries(2):
            entries = timeline.mitigation_timeline(mitigation)
        assert len(entries) == 7


class TestCoverage:
    def test_cells_count_active_mitigations_per_category_and_source(self):
        chart = coverage.coverage_chart(rows=None, by=None, depth=None)
        columns = [c.label for c in chart.columns]
        for row in chart.rows:
            for column, cell in zip(columns, row.cells, strict=True):
                expected = (
                    Mitigation.objects.active()
                    .filter(
                        source__short_ref=column,
                        classifications__taxonomy__slug="airm-preliminary",
                        classifications__node__path__startswith=row.node.path,
                    )
                    .count()
                )
                assert cell.count == expected, (row.node.code, column)

    def test_columns_can_be_lifecycle_stages(self):
        chart = coverage.coverage_chart(rows="airm-preliminary", by="lifecycle", depth="2")
        row = next(r for r in chart.rows if r.node.code == "3.1")
        deploy = next(i for i, c in enumerate(chart.columns) if c.label == "Deploy")
        assert row.cells[deploy].count == 2
        assert chart.columns[deploy].total == (
            Mitigation.objects.active().filter(classifications__node__code="deploy").count()
        )

    def test_the_colour_scale_rises_with_the_count(self):
        assert coverage.step_for(0, 10) == 0
        assert coverage.step_for(1, 10) == 1
        assert coverage.step_for(10, 10) == 5
        assert [s.label for s in coverage.legend_for(10)] == [
            "0",
            "1–2",
            "3–4",
            "5–6",
            "7–8",
            "9–10",
        ]
        assert [s.label for s in coverage.legend_for(3)] == ["0", "1", "2", "3"]

    @pytest.mark.parametrize(
        ("params", "named"),
        [({"rows": "lifecycle"}, "rows:"), ({"by": "nothing"}, "by:"), ({"depth": "9"}, "depth:")],
    )
    def test_an_unusable_parameter_is_named(self, params, named):
        arguments = {"rows": None, "by": None, "depth": None, **params}
        with pytest.raises(coverage.CoverageError, match=named):
            coverage.coverage_chart(**arguments)

    @pytest.mark.parametrize("by", [None, "lifecycle"])
    def test_row_and_catalog_totals_count_every_active_record(self, by):
        unplaced = MitigationFactory(placements=[])  # in no category: in the total, no row
        retired = MitigationFactory(placements=place(node("airm-preliminary", "1.1")))
        services.mitigation_retire(mitigation=retired, actor=None, reason="Test")
        chart = coverage.coverage_chart(rows=None, by=by, depth="2")
        active = Mitigation.objects.active()
        assert chart.total == active.count()
        assert unplaced in active
        for row in chart.rows:
            under = active.filter(
                classifications__node__taxonomy__slug="airm-preliminary",
                classifications__node__path__startswith=row.node.path,
            ).distinct()
            assert row.total == under.count(), row.node.code

    def test_costs_a_fixed_number_of_queries(self, django_assert_num_queries):
        # taxonomies, nodes, sources; column totals and cells from the tallies (a probe and
        # a sum each)
        with django_assert_num_queries(7):
            coverage.coverage_chart(rows=None, by=None, depth="2")
        source = SourceDocument.objects.get(short_ref="NIST2024")
        MitigationFactory.create_batch(
            5, source=source, placements=place(node("airm-preliminary", "1.1"))
        )
        with django_assert_num_queries(7):
            coverage.coverage_chart(rows=None, by=None, depth="2")
        # by a vocabulary: the cells from the rows; column, row and catalog totals tallied
        with django_assert_num_queries(9):
            coverage.coverage_chart(rows=None, by="actor", depth=None)
        TallyChange.objects.create(mitigation_id=0)  # a change waits: from the rows
        with django_assert_num_queries(7):
            coverage.coverage_chart(rows=None, by=None, depth="2")
        with django_assert_num_queries(9):
            coverage.coverage_chart(rows=None, by="actor", depth=None)

    @pytest.mark.parametrize("by", [None, "actor", "lifecycle"])
    @pytest.mark.parametrize("rows", ["airm-preliminary", "airm-draft"])
    def test_tallied_and_counted_charts_agree(self, rows, by):
        retire = Mitigation.objects.active().order_by("number")[3]
        services.mitigation_retire(mitigation=retire, actor=None, reason="T")
        kwargs = {"rows": rows, "by": by, "depth": "2"}
        tallied = coverage.coverage_chart(**kwargs)
        assert tallied.total and tallied.highest
        TallyChange.objects.create(mitigation_id=0)
        counted = coverage.coverage_chart(**kwargs)
        assert tallied.total == counted.total
        assert [c.total for c in tallied.columns] == [c.total for c in counted.columns]
        assert [(r.total, [c.count for c in r.cells]) for r in tallied.rows] == [
            (r.total, [c.count for c in r.cells]) for r in counted.rows
        ]
