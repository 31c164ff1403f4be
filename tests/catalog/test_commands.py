"""import_mitigations and export_mitigations, as a person runs them."""

import io
import os
import pty

import pytest
from django.core.management import CommandError, ManagementUtility, call_command

from catalog.models import ImportBatch, Mitigation, SourceDocument
from tests.spreadsheets import (
    MIT_DOCUMENT_HEADER,
    MIT_MITIGATION_HEADER,
    catalog_state,
    csv_text,
    history_total,
    write_csv,
)

pytestmark = pytest.mark.django_db

NEW_DOCUMENT = [
    "Example2026",
    "99",
    "A made-up framework",
    "Example",
    "2026",
    "",
    "",
    "https://example.org/f",
    "",
    "Preprint",
]


@pytest.fixture
def files(tmp_path):
    documents = write_csv(tmp_path / "documents.csv", [MIT_DOCUMENT_HEADER, NEW_DOCUMENT])
    mitigations = write_csv(
        tmp_path / "mitigations.csv",
        [
            MIT_MITIGATION_HEADER,
            ["A0701_Example2026", "Red-team the release", "", "Example2026", "3.1"],
            ["A0702_NIST2024", "Log the prompts", "Keep them.", "NIST2024", "3.5"],
        ],
    )
    return documents, mitigations


def run_import(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_mitigations", *map(str, args), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_documents_then_mitigations_are_imported_in_one_go_with_the_user(files, admin):
    documents, mitigations = files

    out, _ = run_import(mitigations, "--documents", documents, "--user", admin.username)

    assert "documents.csv (Source documents (MIT's layout)): 1 row: 1 new" in out
    assert (
        "mitigations.csv (MIT AI Risk Mitigation Database export (mitigations)): 2 rows: 2 new"
        in out
    )
    assert "Imported." in out
    red_team = Mitigation.objects.get(number=701)
    assert red_team.source.short_ref == "Example2026"
    batch = ImportBatch.objects.get(file_name="mitigations.csv")
    assert (batch.created_by, batch.status, batch.rows_new) == (admin, "applied", 2)
    assert (
        red_team.history.get().history_change_reason
        == f"Import of mitigations.csv (batch {batch.pk})"
    )


def test_a_dry_run_reports_and_writes_nothing(files):
    documents, mitigations = files
    state, history = catalog_state(), history_total()

    out, _ = run_import(mitigations, "--documents", documents, "--dry-run")

    assert "2 rows: 2 new" in out  # the new document counts as known to the mitigations
    assert "Dry run: no errors; nothing was written." in out
    assert (catalog_state(), history_total()) == (state, history)
    assert not ImportBatch.objects.exists()


def test_any_error_fails_with_the_rows_named_and_nothing_written(files, tmp_path):
    _, mitigations = files  # cites Example2026, which is not imported here
    state = catalog_state()

    with pytest.raises(CommandError, match="Nothing was imported"):
        run_import(mitigations)

    assert catalog_state() == state
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_mitigations", str(mitigations), stdout=out, stderr=err)
    assert 'row 2, column D ("Action Source"): No source document “Example2026”' in err.getvalue()


def test_an_unknown_user_or_missing_file_is_refused(files, tmp_path):
    _, mitigations = files
    with pytest.raises(CommandError, match="No user nobody"):
        run_import(mitigations, "--user", "nobody")
    with pytest.raises(CommandError, match="No file"):
        run_import(tmp_path / "missing.csv")
    with pytest.raises(CommandError, match="Give a mitigations FILE"):
        call_command("import_mitigations")


def test_the_exit_status_is_non_zero_on_any_error(files, capsys):
    _, mitigations = files
    utility = ManagementUtility(["manage.py", "import_mitigations", str(mitigations), "--dry-run"])

    with pytest.raises(SystemExit) as exit_status:
        utility.execute()

    assert exit_status.value.code == 1
    assert "No source document “Example2026”" in capsys.readouterr().err


def test_a_terminal_gets_a_progress_bar(files):
    documents, mitigations = files
    primary, secondary = pty.openpty()
    with open(secondary, "w", encoding="utf-8", closefd=True) as terminal:
        call_command(
            "import_mitigations",
            str(mitigations),
            "--documents",
            str(documents),
            "--dry-run",
            stdout=terminal,
            stderr=io.StringIO(),
        )
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # EIO: the terminal's other end is closed and everything was read
            break
        if not chunk:
            break
        output += chunk
    os.close(primary)
    assert b"\rChecking [" in output
    assert b"2/2 rows (100%" in output


def test_without_a_terminal_there_is_no_progress_bar(files):
    documents, mitigations = files
    out = io.StringIO()
    call_command(
        "import_mitigations",
        str(mitigations),
        "--documents",
        str(documents),
        "--dry-run",
        stdout=out,
    )
    assert "\r" not in out.getvalue() and "rows/s" not in out.getvalue()


# --------------------------------------------------------------------------- export


def run_export(*args):
    out = io.StringIO()
    call_command("export_mitigations", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_export_writes_the_whole_catalog_by_default(tmp_path):
    target = tmp_path / "all.xlsx"
    call_command(
        "export_mitigations", "--format", "xlsx", "--output", str(target), stderr=io.StringIO()
    )
    assert target.read_bytes().startswith(b"PK")
    rows = csv_text(run_export().encode())
    assert rows[0][:3] == ["ID", "Name", "Definition"]
    assert len(rows) == Mitigation.objects.count() + 1


def test_export_filters_by_node_subtree_source_status_and_text():
    by_node = csv_text(run_export("--taxonomy-node", "airm-preliminary:2").encode())[1:]
    assert by_node and all(row[8].startswith("2.") for row in by_node)

    gipiskis = SourceDocument.objects.get(short_ref="Gipiškis2024")
    by_source = csv_text(run_export("--source", "Gipiškis2024").encode())[1:]
    assert len(by_source) == gipiskis.mitigations.count()

    by_text = csv_text(run_export("--search", "ADVERSARIAL").encode())[1:]
    assert "Adversarial training" in {row[1] for row in by_text}
    assert all("adversarial" in " ".join(row[1:5]).lower() for row in by_text)

    retired = csv_text(run_export("--status", "retired").encode())[1:]
    assert [row[0] for row in retired] == ["A9058"]  # the demo's one retired record


def test_export_refuses_unknown_filters_and_xlsx_to_a_terminal():
    with pytest.raises(CommandError, match="No node 9 in a taxonomy airm-preliminary"):
        run_export("--taxonomy-node", "airm-preliminary:9")
    with pytest.raises(CommandError, match="SLUG:CODE"):
        run_export("--taxonomy-node", "airm-preliminary")
    with pytest.raises(CommandError, match="No source document Nobody"):
        run_export("--source", "Nobody")
    with pytest.raises(CommandError, match="give --output FILE"):
        run_export("--format", "xlsx")


def test_exported_formula_like_cells_are_inert(tmp_path):
    from tests.factories import MitigationFactory

    MitigationFactory(name="=2+3 controls", source=SourceDocument.objects.get(short_ref="NIST2024"))
    rows = csv_text(run_export("--search", "2+3").encode())
    assert rows[1][1] == "'=2+3 controls"


def test_export_takes_the_list_page_filters_as_they_are_in_its_address():
    rows = csv_text(
        run_export(
            "--query", "http://127.0.0.1:8000/mitigations/?airm-preliminary=3&lifecycle=deploy"
        ).encode()
    )[1:]
    expected = set(
        Mitigation.objects.active()
        .filter(classifications__node__path__startswith="/3/")
        .filter(classifications__taxonomy__slug="lifecycle", classifications__node__code="deploy")
        .values_list("number", flat=True)
    )
    assert expected
    assert {Mitigation.objects.get(name=row[1]).number for row in rows} == expected


def test_export_reports_a_bad_list_filter_naming_the_parameter():
    with pytest.raises(CommandError, match=r"year_min"):
        run_export("--query", "year_min=soon")
