"""The list's filters, facets, sorting and URL state (catalog.filters)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict

from catalog import filters, services
from catalog.models import Mitigation, SourceDocument, TallyChange, TaxonomyNode
from tests.factories import (
    MitigationFactory,
    SourceDocumentFactory,
    TaxonomyFactory,
    TaxonomyNodeFactory,
    place,
)

pytestmark = pytest.mark.django_db


def retire_one():
    """A record of another status than the default, so statuses count apart."""
    services.mitigation_retire(
        mitigation=Mitigation.objects.get(name="Abuse monitoring and account suspension"),
        actor=None,
        reason="T",
    )


def filtered(query: str):
    filterset = filters.MitigationFilterSet(QueryDict(query))
    assert filterset.is_valid(), filterset.error_messages()
    return filterset


def ids(queryset):
    return sorted(m.public_id for m in queryset)


def in_subtree(slug, path):
    return Mitigation.objects.active().filter(
        classifications__taxonomy__slug=slug, classifications__node__path__startswith=path
    )


def node(slug, code):
    return TaxonomyNode.objects.select_related("taxonomy").get(taxonomy__slug=slug, code=code)


def facet(groups, param):
    return next(group for group in groups if group.param == param)


def option_counts(group):
    return {option.value: option.count for option in group.options}


def query_of(url):
    return parse_qs(urlsplit(url).query)


class TestFiltering:
    def test_without_filters_the_list_holds_the_active_records(self):
        services.mitigation_retire(
            mitigation=Mitigation.objects.get(name="Adversarial training"), actor=None, reason="T"
        )
        assert ids(filtered("").qs) == ids(Mitigation.objects.active())

    def test_a_category_includes_its_descendants(self):
        result = ids(filtered("airm-preliminary=3").qs)
        assert result == ids(in_subtree("airm-preliminary", "/3/"))
        assert "A9007" in result  # filed under 3.1

    def test_values_of_one_taxonomy_are_alternatives(self):
        result = ids(filtered("airm-preliminary=1.5&airm-preliminary=4.3").qs)
        expected = ids(in_subtree("airm-preliminary", "/1/1.5/")) + ids(
            in_subtree("airm-preliminary", "/4/4.3/")
        )
        assert result == sorted(expected)

    def test_different_filters_narrow_each_other(self):
        result = ids(filtered("airm-preliminary=3.1&lifecycle=deploy").qs)
        assert result == ["A9012", "A9023"]

    def test_a_source_with_non_ascii_letters_filters(self):
        result = ids(filtered("source=Gipi%C5%A1kis2024").qs)
        expected = ids(Mitigation.objects.active().filter(source__short_ref="Gipiškis2024"))
        assert result == expected
        assert len(result) == 10

    def test_a_source_with_spaces_filters(self):
        result = ids(filtered("source=Future+of+Life+Institute2024").qs)
        assert result == ["A9048"]

    def test_document_type_filters(self):
        result = ids(filtered("doc_type=legislation").qs)
        assert result == ids(Mitigation.objects.active().filter(source__doc_type="legislation"))

    def test_year_range_is_inclusive(self):
        result = ids(filtered("year_min=2024&year_max=2024").qs)
        assert result == ids(Mitigation.objects.active().filter(source__year=2024))
        assert ids(filtered("year_min=2025").qs) == ids(
            Mitigation.objects.active().filter(source__year__gte=2025)
        )

    def test_status_can_include_retired_and_merged_records(self):
        retired = Mitigation.objects.get(name="Robustness certificates")
        services.mitigation_retire(mitigation=retired, actor=None, reason="Out of scope")
        assert retired.public_id not in ids(filtered("").qs)
        # (A9058 is the demo's retired record, A9059 its merged one.)
        assert ids(filtered("status=retired").qs) == [retired.public_id, "A9058"]
        both = ids(filtered("status=active&status=retired").qs)
        assert retired.public_id in both
        assert len(both) == Mitigation.objects.exclude(status="merged").count()
        assert "A9059" in ids(filtered("status=merged").qs)

    def test_a_search_combines_with_the_filters(self):
        result = ids(filtered("q=red+teaming&source=NIST2024").qs)
        assert result == ["A9023"]

    def test_a_taxonomy_slug_that_clashes_with_a_parameter_gets_a_prefix(self):
        taxonomy = TaxonomyFactory(slug="source", name="Where it came from")
        origin = TaxonomyNodeFactory(taxonomy=taxonomy, code="lab")
        mitigation = MitigationFactory(placements=place(origin))
        assert filters.taxonomy_param(taxonomy) == "taxonomy-source"
        assert ids(filtered("taxonomy-source=lab").qs) == [mitigation.public_id]


class TestBadInput:
    @pytest.mark.parametrize(
        ("query", "named"),
        [
            ("airm-preliminary=9.9", "(airm-preliminary)"),
            ("source=Nobody2099", "(source)"),
            ("year_min=abc", "(year_min)"),
            ("year_max=3000", "(year_max)"),
            ("status=gone", "(status)"),
            ("sort=upside-down", "(sort)"),
            ("per_page=7", "(per_page)"),
            ("doc_type=novel", "(doc_type)"),
        ],
    )
    def test_an_unusable_parameter_is_named_in_the_error(self, query, named):
        filterset = filters.MitigationFilterSet(QueryDict(query))
        assert not filterset.is_valid()
        (message,) = filterset.error_messages()
        assert named in message

    def test_unknown_parameters_are_ignored(self):
        assert ids(filtered("utm_source=newsletter").qs) == ids(Mitigation.objects.active())


class TestSorting:
    def test_default_order_is_the_public_id(self):
        numbers = [m.number for m in filtered("").qs]
        assert numbers == sorted(numbers)

    def test_by_name(self):
        names = [m.name for m in filtered("sort=name").qs]
        assert names == sorted(names)

    def test_by_source_then_section(self):
        rows = [(m.source.short_ref, m.section_path) for m in filtered("sort=source").qs]
        assert rows == sorted(rows)

    def test_recently_changed_counts_a_reclassification(self):
        mitigation = Mitigation.objects.get(name="Audits of training data inputs")
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=node("lifecycle", "deploy").taxonomy,
            placements=place(node("lifecycle", "collect-process-data")),
            actor=None,
            reason="Add the lifecycle stage",
        )
        assert filtered("sort=changed").qs.first() == mitigation

    def test_a_search_sorts_by_relevance_unless_told_otherwise(self):
        filterset = filtered("q=red+team")
        assert filterset.sort_key == "relevance"
        ranks = [m.search_rank for m in filterset.qs]
        assert ranks == sorted(ranks, reverse=True)
        assert filtered("q=red+team&sort=name").sort_key == "name"

    def test_relevance_without_a_search_falls_back_to_the_public_id(self):
        assert filtered("sort=relevance").sort_key == "id"


class TestFacets:
    def test_each_option_counts_under_the_other_filters(self):
        filterset = filtered("source=NIST2024")
        groups = filters.facet_groups(
            filterset, filters.ListState(QueryDict("source=NIST2024"), set())
        )
        by_source = option_counts(facet(groups, "source"))
        # The source group ignores its own choice: every source keeps its full count.
        assert by_source["NIST2024"] == 10
        assert by_source["Gipiškis2024"] == 10
        # Other groups count only within NIST2024.
        mit = option_counts(facet(groups, "airm-preliminary"))
        nist = Mitigation.objects.active().filter(source__short_ref="NIST2024")
        assert mit["3.1"] == nist.filter(classifications__node__code="3.1").count() == 2
        assert mit["3"] == nist.filter(classifications__node__path__startswith="/3/").count()

    def test_a_category_counts_its_whole_subtree(self):
        groups = filters.facet_groups(filtered(""), filters.ListState(QueryDict(""), set()))
        mit = option_counts(facet(groups, "airm-preliminary"))
        assert mit["2"] == in_subtree("airm-preliminary", "/2/").count() == 13

    def test_a_multi_valued_taxonomy_counts_a_mitigation_once_per_subtree(self):
        taxonomy = TaxonomyFactory(multi_valued=True, slug="hazards", name="Hazards")
        top = TaxonomyNodeFactory(taxonomy=taxonomy, code="H")
        left = TaxonomyNodeFactory(taxonomy=taxonomy, code="H.1", parent=top)
        right = TaxonomyNodeFactory(taxonomy=taxonomy, code="H.2", parent=top)
        MitigationFactory(placements=place(left, right))
        MitigationFactory(placements=place(right))
        groups = filters.facet_groups(filtered(""), filters.ListState(QueryDict(""), set()))
        assert option_counts(facet(groups, "hazards")) == {"H": 2, "H.1": 1, "H.2": 2}

    def test_status_facet_counts_records_of_every_status(self):
        services.mitigation_retire(
            mitigation=Mitigation.objects.get(name="Robustness certificates"),
            actor=None,
            reason="T",
        )
        groups = filters.facet_groups(filtered(""), filters.ListState(QueryDict(""), set()))
        status = facet(groups, "status")
        assert option_counts(status)["retired"] == 2  # this one and the demo's A9058
        assert option_counts(status)["merged"] == 1  # the demo's A9059
        assert [o.value for o in status.options if o.selected] == ["active"]

    def test_year_options_are_the_years_present(self):
        groups = filters.facet_groups(filtered(""), filters.ListState(QueryDict(""), set()))
        years = option_counts(facet(groups, "year"))
        assert set(years) == {"2023", "2024", "2025"}
        assert sum(years.values()) == Mitigation.objects.active().count()

    @pytest.mark.parametrize(
        ("query", "queries"),
        [
            # from the tallies: a probe that they are up to date; the nodes' sums; the
            # sums by source and status
            ("", 3),
            # a search: from the rows; the taxonomies together; source, type, year and
            # status together; one per active taxonomy
            ("airm-preliminary=3&lifecycle=deploy&q=red", 4),
            # two nodes: from the rows where both are in force (other taxonomies; sources
            # and statuses), tallied where one is (each node's own group; no sources at
            # all for document type and year: no query)
            (
                "airm-preliminary=3&lifecycle=deploy&year_min=2024&source=NIST2024"
                "&doc_type=government&status=retired",
                5,
            ),
            # a selective filter: the probe, the sources in 3.1, NIST2024's count in 3.1;
            # nothing else can match (no source of 2025 is NIST2024): no query
            ("source=NIST2024&airm-preliminary=3.1&year_min=2025", 3),
        ],
    )
    def test_facets_cost_at_most_one_query_per_group(
        self, django_assert_num_queries, query, queries
    ):
        filterset = filtered(query)
        with django_assert_num_queries(queries):
            groups = filters.facet_groups(filterset, filters.ListState(QueryDict(""), set()))
        assert queries <= len(groups) == len(filterset.taxonomies) + 4

    @pytest.mark.parametrize(
        "query",
        [
            "",
            "status=retired&status=merged",
            "airm-preliminary=3",
            "airm-preliminary=3&airm-preliminary=3.1",
            "airm-preliminary=1&airm-preliminary=3",
            "actor=developer&doc_type=government",
            "source=NIST2024&airm-preliminary=3.1&year_min=2025",
            "source=NIST2024&year_max=2024&status=active&status=retired",
            "airm-preliminary=3&lifecycle=deploy",
            "q=model&source=NIST2024",
        ],
    )
    def test_tallied_counts_equal_counted_ones(self, query):
        retire_one()
        tallied = filters.facet_counts(filtered(query))
        TallyChange.objects.create(mitigation_id=0)  # a change waits: counted from the rows
        assert filters.facet_counts(filtered(query)) == tallied

    @pytest.mark.parametrize(
        "query",
        [
            "",
            "airm-preliminary=3&lifecycle=deploy",
            "year_min=2024&source=NIST2024&source=Uuk2024&status=active&status=retired",
            "doc_type=government&airm-draft=1&q=model",
        ],
    )
    def test_shared_queries_count_what_each_group_would_alone(self, query):
        retire_one()
        filterset = filtered(query)
        counts = filters.facet_counts(filterset)
        for taxonomy in filterset.taxonomies:
            alone = filterset.filtered(without=(filters.taxonomy_param(taxonomy),))
            expected = {
                node.pk: alone.filter(
                    classifications__taxonomy=taxonomy,
                    classifications__node__path__startswith=node.path,
                ).count()
                for node in taxonomy.node_list
            }
            assert counts.nodes[taxonomy.pk] == expected, taxonomy.slug
        for params, field, got in [
            (("source",), "source_id", counts.source),
            (("doc_type",), "source__doc_type", counts.doc_type),
            (filters.YEAR_PARAMS, "source__year", counts.year),
            (("status",), "status", counts.status),
        ]:
            alone = filterset.filtered(without=params)
            expected = {}
            for value in alone.values_list(field, flat=True):
                expected[value] = expected.get(value, 0) + 1
            assert {k: v for k, v in got.items() if v} == expected, params


class TestListState:
    def state(self, query):
        filterset = filters.MitigationFilterSet(QueryDict(query))
        return filters.ListState(QueryDict(query), set(filterset.filters))

    def test_toggling_adds_and_removes_a_value_and_returns_to_page_one(self):
        state = self.state("source=NIST2024&page=3&per_page=50")
        added = query_of(state.toggle("source", "Uuk2024"))
        assert added == {"source": ["NIST2024", "Uuk2024"], "per_page": ["50"]}
        removed = query_of(state.toggle("source", "NIST2024"))
        assert removed == {"per_page": ["50"]}

    def test_status_toggles_from_its_default(self):
        state = self.state("")
        assert query_of(state.toggle("status", "retired", default=["active"])) == {
            "status": ["active", "retired"]
        }
        assert state.toggle("status", "active", default=["active"], keep_one=True) == ""

    def test_unknown_and_empty_parameters_are_dropped(self):
        state = self.state("q=&utm=x&lifecycle=deploy")
        assert state.query == "lifecycle=deploy"

    def test_without_removes_whole_parameters(self):
        state = self.state("year_min=2024&year_max=2025&q=audit")
        assert query_of(state.without("year_min", "year_max")) == {"q": ["audit"]}


class TestLinks:
    def test_list_url_for_nodes_and_a_source(self):
        url = filters.mitigation_list_url(
            node("airm-preliminary", "3.1"),
            node("lifecycle", "deploy"),
            source=SourceDocument.objects.get(short_ref="Gipiškis2024"),
        )
        assert url.startswith("/mitigations/?")
        assert query_of(url) == {
            "airm-preliminary": ["3.1"],
            "lifecycle": ["deploy"],
            "source": ["Gipiškis2024"],
        }
        assert "Gipi%C5%A1kis2024" in url

    def test_a_vocabulary_node_reads_as_its_name(self):
        assert filters.node_label(node("lifecycle", "deploy")) == "Deploy"
        assert filters.node_label(node("airm-preliminary", "3.1")) == "3.1 Testing & Auditing"


class TestBrowse:
    def test_an_empty_result_offers_to_drop_each_filter_with_its_count(self):
        result = filters.browse(QueryDict("source=Uuk2024&lifecycle=deploy&q=audit"))
        assert result.total == 0
        offers = {active.key: active.count_without for active in result.active}
        assert offers == {
            "q": Mitigation.objects.active()
            .filter(source__short_ref="Uuk2024", classifications__node__code="deploy")
            .count(),
            "lifecycle": 1,  # "Independent audits before deployment" (Uuk2024)
            "source": 0,
        }
        lifecycle = next(a for a in result.active if a.key == "lifecycle")
        assert lifecycle.value == "Deploy"
        assert "lifecycle" not in query_of(lifecycle.remove_url)

    def test_the_page_size_is_chosen_in_the_url(self):
        result = filters.browse(QueryDict("per_page=10&page=2"))
        assert len(result.page.object_list) == 10
        assert result.page.number == 2

    def test_a_page_past_the_end_shows_the_last_page(self):
        result = filters.browse(QueryDict("per_page=50&page=99"))
        assert result.page.number == result.page.paginator.num_pages

    def test_downloads_carry_the_filters_but_not_the_paging(self):
        result = filters.browse(QueryDict("source=NIST2024&per_page=10&page=2"))
        url = result.export_url("csv")
        assert url.startswith("/mitigations/download.csv?")
        assert query_of(url) == {"source": ["NIST2024"]}

    def test_a_new_source_appears_as_a_facet_option(self):
        source = SourceDocumentFactory(short_ref="Ångström 2026")
        MitigationFactory(source=source)
        result = filters.browse(QueryDict(""))
        assert option_counts(facet(result.facets, "source"))["Ångström 2026"] == 1
