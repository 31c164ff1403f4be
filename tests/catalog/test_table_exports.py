"""Source documents and taxonomy nodes go out (public downloads) and come back unchanged."""

import io
import json

import pytest
from openpyxl import load_workbook

from catalog import services
from catalog.imports.batches import FileToImport, import_files
from catalog.models import ImportKind, RowAction, SourceDocument, Taxonomy, TaxonomyNode
from catalog.table_exports import NODE_COLUMNS, SOURCE_COLUMNS, node_table, source_table
from tests.spreadsheets import catalog_state, csv_text, history_total

pytestmark = pytest.mark.django_db

FORMATS = ("csv", "xlsx", "json")


def body(response) -> bytes:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def hostile_source(admin):
    """A document whose cells would run as formulas in a spreadsheet program."""
    return services.source_document_create(
        short_ref="Hostile2026",
        title='=HYPERLINK("http://evil.example","click")',
        first_author="+Mallory",
        authors="@Mallory; -Eve",
        abstract="Line one\r\nline two\tand a tab",
        year=2026,
        doc_type=SourceDocument.DocType.PREPRINT,
        actor=admin,
        reason="A test document",
    )


def test_the_sources_page_links_its_downloads(client):
    page = client.get("/sources/").content.decode()
    for fmt in FORMATS:
        assert f'href="/sources/download.{fmt}"' in page


def test_a_taxonomy_page_and_the_taxonomy_list_link_their_downloads(client):
    page = client.get("/taxonomies/airm-preliminary/").content.decode()
    listing = client.get("/taxonomies/").content.decode()
    for fmt in FORMATS:
        assert f'href="/taxonomies/airm-preliminary/download.{fmt}"' in page
        assert f'href="/taxonomies/download.{fmt}"' in listing


def test_the_sources_csv_has_a_readable_header_and_every_document(client):
    response = client.get("/sources/download.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert "airm-sources-" in response["Content-Disposition"]
    rows = csv_text(body(response))
    assert rows[0] == [column.heading for column in SOURCE_COLUMNS]
    assert rows[0][:3] == ["Short reference", "Document ID", "Title"]
    assert len(rows) - 1 == SourceDocument.objects.count()
    nist = next(row for row in rows if row[0] == "NIST2024")
    assert nist[-1] in {"Other government document", "Preprint", "Legislation"} | {
        "Other non-government document"
    }


def test_a_taxonomy_csv_lists_parents_before_children_with_yes_or_no(client):
    rows = csv_text(body(client.get("/taxonomies/airm-preliminary/download.csv")))

    assert rows[0] == ["Taxonomy", "Code", "Name", "Parent", "Definition", "Order", "Catch-all"]
    taxonomy = Taxonomy.objects.get(slug="airm-preliminary")
    assert len(rows) - 1 == taxonomy.nodes.count()
    codes = [row[1] for row in rows[1:]]
    for row in rows[1:]:
        assert row[0] == "airm-preliminary"
        assert row[6] in ("yes", "no")
        if row[3]:
            assert codes.index(row[3]) < codes.index(row[1])
    assert next(row for row in rows if row[1] == "X.X")[6] == "yes"


def test_every_format_of_every_table_downloads(client):
    for url in ("/sources/", "/taxonomies/", "/taxonomies/lifecycle/"):
        for fmt in FORMATS:
            response = client.get(f"{url}download.{fmt}")
            assert response.status_code == 200, (url, fmt)
            assert body(response)


def test_an_unknown_taxonomy_or_format_is_a_404(client):
    assert client.get("/taxonomies/nope/download.csv").status_code == 404
    assert client.get("/sources/download.exe", follow=True).status_code == 404
    assert client.post("/sources/download.csv").status_code == 405


def test_the_json_downloads_say_what_they_are(client):
    sources = json.loads(body(client.get("/sources/download.json")))
    nodes = json.loads(body(client.get("/taxonomies/airm-preliminary/download.json")))

    assert "generated_at" in sources
    assert {d["short_ref"] for d in sources["documents"]} == set(
        SourceDocument.objects.values_list("short_ref", flat=True)
    )
    assert set(sources["documents"][0]) == {column.key for column in SOURCE_COLUMNS}
    assert nodes["taxonomy"]["slug"] == "airm-preliminary"
    node = next(n for n in nodes["nodes"] if n["code"] == "3.1")
    assert node == {
        "taxonomy": "airm-preliminary",
        "code": "3.1",
        "name": node["name"],
        "parent": "3",
        "definition": node["definition"],
        "order": node["order"],
        "catch_all": False,
    }
    assert set(nodes["nodes"][0]) == {column.key for column in NODE_COLUMNS}


def test_formula_cells_are_made_inert_in_csv_and_xlsx_and_kept_in_json(client, hostile_source):
    rows = csv_text(body(client.get("/sources/download.csv")))
    row = next(row for row in rows if row[0] == "Hostile2026")
    assert row[2] == "'" + hostile_source.title
    assert row[3] == "'+Mallory"
    assert row[4] == "'@Mallory; -Eve"

    workbook = load_workbook(io.BytesIO(body(client.get("/sources/download.xlsx"))))
    sheet = workbook.active
    assert sheet.title == "Source documents"
    assert sheet.freeze_panes == "A2"
    cells = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "Hostile2026")
    assert cells[2] == "'" + hostile_source.title
    assert all(cell is None or isinstance(cell, str) for cell in cells)

    documents = json.loads(body(client.get("/sources/download.json")))["documents"]
    assert next(d for d in documents if d["short_ref"] == "Hostile2026")["title"] == (
        hostile_source.title
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_download_imports_back_unchanged_with_no_history(tmp_path, fmt, hostile_source, admin):
    sources_file = tmp_path / f"sources.{fmt}"
    nodes_file = tmp_path / f"nodes.{fmt}"
    with open(sources_file, "wb") as handle:
        source_table().write(fmt, handle)
    with open(nodes_file, "wb") as handle:
        node_table().write(fmt, handle)
    before, history = catalog_state(), history_total()

    results = import_files(
        [
            FileToImport(sources_file, ImportKind.DOCUMENTS),
            FileToImport(nodes_file, ImportKind.NODES),
        ],
        actor=admin,
    )

    for report, _ in results:
        assert report.ok, (report.problems, report.summary_data())
        assert report.counts[RowAction.UNCHANGED] == report.rows_total
        assert not report.notices  # no column was ignored
    assert catalog_state() == before
    assert history_total() == history
    hostile_source.refresh_from_db()
    assert hostile_source.abstract == "Line one\r\nline two\tand a tab"


def test_a_node_table_of_one_taxonomy_holds_only_its_nodes():
    lifecycle = Taxonomy.objects.get(slug="lifecycle")
    rows = list(node_table(taxonomy=lifecycle).rows())
    assert len(rows) - 1 == TaxonomyNode.objects.filter(taxonomy=lifecycle).count()
    assert {row[0] for row in rows[1:]} == {"lifecycle"}


def test_robots_keep_crawlers_out_of_the_new_downloads(client):
    lines = client.get("/robots.txt").content.decode().splitlines()
    assert "Disallow: /sources/download." in lines
    assert "Disallow: /taxonomies/*/download." in lines


def test_the_downloads_take_as_many_queries_for_many_rows_as_for_few(client, admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            body(client.get(url))
        return len(captured)

    urls = (
        "/sources/download.csv",
        "/taxonomies/download.json",
        "/taxonomies/lifecycle/download.csv",
    )
    before = [queries(url) for url in urls]
    lifecycle = Taxonomy.objects.get(slug="lifecycle")
    for number in range(5):
        services.source_document_create(
            short_ref=f"More{number}", title="More", actor=admin, reason="More rows"
        )
        services.taxonomy_node_create(
            taxonomy=lifecycle, code=f"more{number}", name="More", actor=admin, reason="More"
        )
    assert [queries(url) for url in urls] == before
    assert max(before) <= 3
