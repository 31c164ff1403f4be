"""Crosswalks between two taxonomies: counts that match their lists, downloads, errors."""

from __future__ import annotations

import json

import pytest

from catalog import services
from catalog.crosswalk import crosswalk, crosswalk_counts
from catalog.models import Mitigation, Taxonomy, TaxonomyNode
from catalog.selectors import taxonomy_list_with_nodes
from tests.factories import MitigationFactory, TaxonomyFactory, TaxonomyNodeFactory, place
from tests.html_checks import html_problems
from tests.spreadsheets import csv_text

pytestmark = pytest.mark.django_db

URL = "/taxonomies/airm-preliminary/crosswalk/airm-draft/"


def node(slug, code):
    return TaxonomyNode.objects.get(taxonomy__slug=slug, code=code)


@pytest.fixture
def multi():
    """A multi-valued taxonomy: A with A.1 and A.2, and B."""
    taxonomy = TaxonomyFactory(slug="multi", name="Multi", multi_valued=True)
    top = TaxonomyNodeFactory(taxonomy=taxonomy, code="A", name="Alpha")
    TaxonomyNodeFactory(taxonomy=taxonomy, code="A.1", name="Alpha one", parent=top)
    TaxonomyNodeFactory(taxonomy=taxonomy, code="A.2", name="Alpha two", parent=top)
    TaxonomyNodeFactory(taxonomy=taxonomy, code="B", name="Beta")
    return taxonomy


def counts_by_code(table):
    return {
        (row.node.code, column.node.code): cell.count
        for row in table.rows
        for column, cell in zip(table.columns, row.cells, strict=True)
    }


class TestCounts:
    def test_a_cell_counts_the_records_at_or_below_both_nodes(self):
        table = crosswalk("airm-preliminary", "airm-draft")
        cells = counts_by_code(table)
        expected = (
            Mitigation.objects.active()
            .filter(classifications__node__path__startswith=node("airm-preliminary", "2").path)
            .filter(classifications__node__path__startswith=node("airm-draft", "1.1").path)
            .distinct()
            .count()
        )
        assert expected > 0
        assert cells["2", "1.1"] == expected

    def test_each_cell_leads_to_a_list_of_exactly_its_count(self, client):
        table = crosswalk("airm-preliminary", "airm-draft")
        cells = [cell for row in table.rows for cell in row.cells if cell.count]
        assert len(cells) > 10
        for cell in cells[::5]:
            assert client.get(cell.url).context["browse"].total == cell.count, cell.url

    def test_a_record_at_two_nodes_of_one_subtree_counts_once(self, client, multi):
        record = MitigationFactory(
            placements=place(
                node("multi", "A.1"), node("multi", "A.2"), node("lifecycle", "deploy")
            )
        )
        table = crosswalk("multi", "lifecycle")
        cells = counts_by_code(table)
        assert cells["A", "deploy"] == 1
        assert cells["A.1", "deploy"] == cells["A.2", "deploy"] == 1
        top = next(row for row in table.rows if row.node.code == "A")
        deploy = next(cell for cell in top.cells if "lifecycle=deploy" in cell.url)
        assert client.get(deploy.url).context["browse"].total == deploy.count == 1
        row = next(row for row in table.rows if row.node.code == "A")
        assert row.total == 1 and row.unmatched == 0
        assert record.is_active

    def test_records_missing_from_the_other_taxonomy_are_counted_as_not_in_it(self, multi):
        MitigationFactory(placements=place(node("multi", "A.1")))
        MitigationFactory(placements=place(node("multi", "B"), node("lifecycle", "deploy")))
        MitigationFactory(placements=place(node("lifecycle", "deploy")))
        table = crosswalk("multi", "lifecycle")
        rows = {row.node.code: row for row in table.rows}
        assert (rows["A"].total, rows["A"].unmatched) == (1, 1)
        assert (rows["B"].total, rows["B"].unmatched) == (1, 0)
        assert table.counts.in_rows == 2
        assert table.counts.in_both == 1
        assert table.counts.only_in_rows == 1
        deploy = next(column for column in table.columns if column.node.code == "deploy")
        assert (
            deploy.unmatched
            == Mitigation.objects.active()
            .filter(classifications__node__code="deploy")
            .exclude(classifications__taxonomy=multi)
            .count()
        )

    def test_retired_records_are_left_out(self, curator):
        record = Mitigation.objects.get(number=9001)
        before = crosswalk("airm-preliminary", "airm-draft").counts.in_both
        services.mitigation_retire(mitigation=record, actor=curator, reason="Test")
        assert crosswalk("airm-preliminary", "airm-draft").counts.in_both == before - 1

    def test_the_counts_are_kept_until_the_catalog_changes(self, django_assert_num_queries):
        crosswalk("airm-preliminary", "airm-draft")
        with django_assert_num_queries(5):  # taxonomies, nodes, version, cache, the picker
            crosswalk("airm-preliminary", "airm-draft")
        MitigationFactory(
            placements=place(node("airm-preliminary", "3.1"), node("airm-draft", "2.2.2"))
        )
        cells = counts_by_code(crosswalk("airm-preliminary", "airm-draft"))
        fresh = taxonomy_list_with_nodes(Taxonomy.objects.filter(slug__in=["airm-preliminary"]))
        (draft,) = taxonomy_list_with_nodes(Taxonomy.objects.filter(slug="airm-draft"))
        direct = crosswalk_counts(fresh[0], draft)
        assert (
            cells["3.1", "2.2.2"]
            == direct.cells[node("airm-preliminary", "3.1").pk, node("airm-draft", "2.2.2").pk]
        )

    def test_levels_limit_the_rows_and_columns(self):
        table = crosswalk("airm-draft", "airm-preliminary", depth="1", column_depth="1")
        assert {row.node.depth for row in table.rows} == {0}
        assert {column.node.depth for column in table.columns} == {0}
        assert [o.selected for o in table.depth_options] == [True, False, False]


class TestPage:
    def test_shows_the_matrix_with_links_to_each_list(self, client):
        response = client.get(URL)
        assert response.status_code == 200
        text = response.text
        assert "<caption" in text
        assert 'role="region"' in text and 'class="table-scroll' in text
        assert 'href="/mitigations/?airm-preliminary=2.3&amp;airm-draft=1.1.2"' in text
        assert ": 2.3 Model Safety Engineering × 1.1.2 Learning Objectives<" in text
        assert 'href="/taxonomies/airm-preliminary/crosswalk/airm-draft/download.csv?' in text
        assert 'href="/taxonomies/airm-draft/crosswalk/airm-preliminary/?' in text  # swap
        assert html_problems(text) == []

    def test_the_taxonomy_page_offers_a_crosswalk_with_every_other_taxonomy(self, client):
        text = client.get("/taxonomies/airm-preliminary/").text
        for slug in ("airm-draft", "lifecycle", "actor", "rmf-function"):
            assert f'href="/taxonomies/airm-preliminary/crosswalk/{slug}/"' in text
        assert 'href="/taxonomies/airm-preliminary/crosswalk/airm-preliminary/"' not in text

    @pytest.mark.parametrize(
        "url",
        [
            "/taxonomies/no-such/crosswalk/airm-draft/",
            "/taxonomies/airm-draft/crosswalk/no-such/",
            "/taxonomies/airm-draft/crosswalk/airm-draft/",
            "/taxonomies/no-such/crosswalk/airm-draft/download.csv",
            "/taxonomies/airm-draft/crosswalk/no-such/download.json",
        ],
    )
    def test_an_unknown_or_repeated_taxonomy_is_a_404(self, client, url):
        assert client.get(url).status_code == 404

    @pytest.mark.parametrize("suffix", ["", "download.csv", "download.json"])
    def test_an_unusable_level_is_a_400_that_names_it(self, client, suffix):
        response = client.get(URL + suffix, {"column_depth": "7"})
        assert response.status_code == 400
        assert "column_depth: “7” is not a level; choose 1 to 3." in response.text

    def test_only_get(self, client):
        assert client.post(URL).status_code == 405

    def test_query_count_is_fixed(self, client, django_assert_num_queries):
        client.get(URL)  # fills the cache
        for _ in range(2):
            # session-free public page: taxonomies, nodes, version, cached counts, the picker
            with django_assert_num_queries(5):
                client.get(URL)
            MitigationFactory.create_batch(
                5, placements=place(node("airm-preliminary", "4.1"), node("airm-draft", "2.2.4"))
            )
            client.get(URL)


class TestDownloads:
    def test_csv_is_the_table_as_shown(self, client):
        response = client.get(URL + "download.csv", {"depth": "1", "column_depth": "1"})
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert "airm-crosswalk-airm-preliminary-airm-draft-" in response["Content-Disposition"]
        rows = csv_text(b"".join(response.streaming_content))
        table = crosswalk("airm-preliminary", "airm-draft", depth="1", column_depth="1")
        assert rows[0][:2] == ["Code", table.rows_taxonomy.name]
        assert rows[0][2:] == [
            *(c.label for c in table.columns),
            "All",
            "Not in " + (table.columns_taxonomy.name),
        ]
        assert len(rows) == len(table.rows) + 3
        first = table.rows[0]
        assert rows[1] == [
            first.node.code,
            first.node.name,
            *(str(cell.count) for cell in first.cells),
            str(first.total),
            str(first.unmatched),
        ]

    def test_csv_text_a_spreadsheet_would_run_is_made_inert(self, client, multi):
        TaxonomyNodeFactory(taxonomy=multi, code="C", name='=HYPERLINK("http://x.example")')
        rows = csv_text(
            b"".join(
                client.get("/taxonomies/multi/crosswalk/lifecycle/download.csv").streaming_content
            )
        )
        assert rows[-3][:2] == ["C", '\'=HYPERLINK("http://x.example")']

    def test_json_holds_nodes_counts_and_links(self, client):
        response = client.get(URL + "download.json", {"depth": "2"})
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        data = json.loads(response.content)
        assert data["rows_taxonomy"]["slug"] == "airm-preliminary"
        assert data["columns_taxonomy"]["slug"] == "airm-draft"
        assert data["depth"] == 2 and data["column_depth"] == 3
        row = next(row for row in data["rows"] if row["code"] == "2.3")
        cell = row["cells"]["1.1.2"]
        assert cell["url"] == "/mitigations/?airm-preliminary=2.3&airm-draft=1.1.2"
        assert cell["count"] >= 1
        assert data["records_in_both"] == sum(
            r["total"] - r["not_in_columns_taxonomy"] for r in data["rows"] if "." not in r["code"]
        )
