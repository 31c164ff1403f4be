"""import_sources and import_taxonomy_nodes, as a person runs them."""

import io

import pytest
from django.core.management import CommandError, call_command

from catalog.models import ImportBatch, SourceDocument, TaxonomyNode
from catalog.table_exports import node_table, source_table
from tests.spreadsheets import catalog_state, history_total, write_csv, write_json

pytestmark = pytest.mark.django_db

SOURCE_HEADER = ["Short reference", "Title", "Authors", "Year", "URL", "Type"]
NODE_HEADER = ["Code", "Name", "Parent", "Definition", "Catch-all"]


def run(command, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *map(str, args), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_sources_adds_a_document_with_history_and_a_batch(tmp_path, admin):
    path = write_csv(
        tmp_path / "sources.csv",
        [
            SOURCE_HEADER,
            ["Example2026", "A made-up framework", "Ann Example; Bo Other", "2026", "", "Preprint"],
        ],
    )

    out, _ = run("import_sources", path, "--user", admin.username)

    assert "1 new" in out
    document = SourceDocument.objects.get(short_ref="Example2026")
    assert (document.year, document.doc_type) == (2026, "preprint")
    (row,) = document.history.all()
    assert row.history_user == admin
    batch = ImportBatch.objects.get()
    assert (batch.kind, batch.status) == ("documents", "applied")
    assert row.history_ref == batch.ref


def test_a_dry_run_reports_and_writes_nothing(tmp_path):
    path = write_csv(
        tmp_path / "sources.csv",
        [SOURCE_HEADER, ["Example2026", "A made-up framework", "", "2026", "", "Preprint"]],
    )
    before, history = catalog_state(), history_total()

    out, _ = run("import_sources", path, "--dry-run")

    assert "1 new" in out and "nothing was written" in out
    assert catalog_state() == before and history_total() == history
    assert not ImportBatch.objects.exists()


def test_row_errors_name_row_and_column_and_nothing_is_written(tmp_path):
    path = write_csv(
        tmp_path / "sources.csv",
        [
            SOURCE_HEADER,
            ["Good2026", "Fine", "", "2026", "", "Preprint"],
            ["Bad2026", "Wrong year", "", "20x6", "", "Preprint"],
            ["Worse2026", "Wrong type", "", "2026", "", "Poem"],
        ],
    )
    before = catalog_state()

    with pytest.raises(CommandError, match="Nothing was imported"):
        run("import_sources", path)

    assert catalog_state() == before


def test_the_error_output_names_the_cell(tmp_path, capsys):
    path = write_csv(
        tmp_path / "sources.csv",
        [SOURCE_HEADER, ["Bad2026", "Wrong year", "", "20x6", "", "Preprint"]],
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_sources", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
    assert 'row 2, column D ("Year"): “20x6” is not a whole number.' in err.getvalue()


def test_a_missing_file_or_unknown_user_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No file"):
        run("import_sources", tmp_path / "nope.csv")
    path = write_csv(tmp_path / "s.csv", [SOURCE_HEADER, ["X2026", "X", "", "", "", "Preprint"]])
    with pytest.raises(CommandError, match="No user nobody"):
        run("import_sources", path, "--user", "nobody")


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, settings):
    settings.IMPORT_MAX_BYTES = 100
    path = write_csv(
        tmp_path / "sources.csv",
        [SOURCE_HEADER, *[[f"X{i}", "A title " * 5, "", "", "", "Preprint"] for i in range(9)]],
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_sources", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
    assert "IMPORT_MAX_BYTES" in err.getvalue()


def test_import_taxonomy_nodes_reads_a_file_without_a_taxonomy_column(tmp_path, admin):
    path = write_csv(
        tmp_path / "nodes.csv",
        [
            NODE_HEADER,
            ["3.1.9", "Other testing", "3.1", "Testing not listed elsewhere.", "yes"],
            ["3.1.1", "Red teaming", "3.1", "", "no"],
        ],
    )

    out, _ = run("import_taxonomy_nodes", "airm-preliminary", path, "--user", admin.username)

    assert "2 new" in out
    node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="3.1.9")
    assert (node.parent.code, node.is_catch_all, node.path) == ("3.1", True, "/3/3.1/3.1.9/")
    assert node.history.get().history_user == admin


def test_a_row_of_another_taxonomy_is_refused_naming_it(tmp_path):
    path = write_csv(
        tmp_path / "nodes.csv",
        [["Taxonomy", *NODE_HEADER], ["lifecycle", "zz", "Odd", "", "", "no"]],
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_taxonomy_nodes",
            "airm-preliminary",
            str(path),
            "--no-progress",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert 'row 2, column A ("Taxonomy")' in err.getvalue()
    assert "is for the taxonomy “airm-preliminary”" in err.getvalue()
    assert not TaxonomyNode.objects.filter(code="zz").exists()


def test_an_unknown_taxonomy_is_refused_listing_the_known_ones(tmp_path):
    path = write_csv(tmp_path / "n.csv", [NODE_HEADER, ["1", "One", "", "", "no"]])
    with pytest.raises(CommandError, match=r"No taxonomy 'nope'.*airm-preliminary"):
        run("import_taxonomy_nodes", "nope", path)


def test_an_exported_taxonomy_imports_back_as_unchanged(tmp_path):
    path = tmp_path / "nodes.json"
    from catalog.models import Taxonomy

    with open(path, "wb") as handle:
        node_table(taxonomy=Taxonomy.objects.get(slug="lifecycle")).write("json", handle)
    history = history_total()

    out, _ = run("import_taxonomy_nodes", "lifecycle", path)

    assert " 0 new, 0 changed" in out
    assert history_total() == history


def test_json_of_sources_in_the_exports_shape_imports(tmp_path):
    path = write_json(
        tmp_path / "sources.json",
        {"documents": [{"short_ref": "Json2026", "title": "From JSON", "year": 2026}]},
    )
    run("import_sources", path)
    assert SourceDocument.objects.get(short_ref="Json2026").year == 2026


def test_an_exported_source_table_imports_back_as_unchanged(tmp_path):
    path = tmp_path / "sources.xlsx"
    with open(path, "wb") as handle:
        source_table().write("xlsx", handle)
    out, _ = run("import_sources", path, "--dry-run")
    assert " 0 new, 0 changed" in out
