"""Bad input: every kind gets a clear report naming the row and column, and nothing is written."""

import io
import zipfile

import openpyxl.xml
import pytest
from openpyxl import Workbook

from catalog.models import ImportBatch, ImportKind, Mitigation, RowAction
from tests.spreadsheets import (
    MIT_MITIGATION_HEADER,
    catalog_state,
    history_total,
    import_one,
    write_csv,
    write_xlsx,
)

pytestmark = pytest.mark.django_db

GOOD_ROW = ["A0701_NIST2024", "Red-team the release", "People attack it first.", "NIST2024", "3.1"]


@pytest.fixture
def untouched():
    """Asserts, after the test, that nothing was written anywhere."""
    state, history = catalog_state(), history_total()
    yield
    assert catalog_state() == state
    assert history_total() == history
    assert not ImportBatch.objects.exists()


def problems_of(path, kind=ImportKind.MITIGATIONS):
    report, batch = import_one(path, kind=kind)
    assert batch is None
    assert not report.ok
    return report


def row_errors(report_path, kind=ImportKind.MITIGATIONS):
    from catalog.imports.pipeline import run

    plans = []
    report, _ = run(report_path, file_name=report_path.name, kind=kind, on_chunk=plans.extend)
    return report, [
        f"{plan.row_label}, {where}: {message}" if where else f"{plan.row_label}: {message}"
        for plan in plans
        for where, message in plan.errors
    ]


# --------------------------------------------------------------------------- columns


def test_a_missing_column_is_named(tmp_path, untouched):
    path = write_csv(
        tmp_path / "f.csv", [["Action ID", "Action Name", "MitigationCode"], [*GOOD_ROW[:2], "3.1"]]
    )

    report = problems_of(path)

    assert report.problems == [
        "The column “Action Source” is missing: the MIT AI Risk Mitigation Database export "
        "(mitigations) layout needs Action ID, Action Name, Action Source."
    ]


def test_a_misspelt_column_is_named_with_its_letter_and_a_suggestion(tmp_path, untouched):
    header = ["Action ID", "Action Nmae", "Action Definition", "Action Source", "MitigationCode"]
    path = write_csv(tmp_path / "f.csv", [header, GOOD_ROW])

    report = problems_of(path)

    assert report.problems == [
        'Column B ("Action Nmae") is not a column of the MIT AI Risk Mitigation Database export '
        "(mitigations) layout. Did you mean “Action Name”?"
    ]


def test_a_misspelt_taxonomy_column_is_caught_too(tmp_path, untouched):
    path = write_csv(
        tmp_path / "f.csv",
        [["ID", "Name", "Source", "airm-prelimnary"], ["A0701", "A name", "NIST2024", "3.1"]],
    )

    assert "Did you mean “airm-preliminary”?" in problems_of(path).problems[0]


def test_a_column_that_appears_twice_is_refused(tmp_path, untouched):
    path = write_csv(
        tmp_path / "f.csv", [["ID", "Name", "Source", "name"], ["A0701", "x", "NIST2024", "y"]]
    )

    assert problems_of(path).problems == [
        'Column D ("name") repeats column B ("Name"); each column may appear once.'
    ]


def test_an_unrelated_extra_column_is_ignored_and_said_so(tmp_path, admin):
    path = write_csv(
        tmp_path / "f.csv", [[*MIT_MITIGATION_HEADER, "Curator notes"], [*GOOD_ROW, "check later"]]
    )

    report, batch = import_one(path, actor=admin)

    assert report.ok and batch is not None
    assert report.notices == [
        'Ignored columns (not part of the layout): column F ("Curator notes").'
    ]


def test_a_header_of_no_known_layout_is_explained(tmp_path, untouched):
    path = write_csv(tmp_path / "f.csv", [["Fruit", "Colour"], ["Apple", "Red"]])

    report, _ = row_errors(path, kind=None)

    assert report.problems[0].startswith("Row 1 is not the header of any layout this import knows")


# --------------------------------------------------------------------------- cells


def test_an_unknown_taxonomy_code_is_named_with_row_and_column(tmp_path, untouched):
    path = write_csv(
        tmp_path / "f.csv",
        [MIT_MITIGATION_HEADER, GOOD_ROW, ["A0702", "Second", "", "NIST2024", "9.9 Imaginary"]],
    )

    _report, errors = row_errors(path)

    assert errors == [
        'row 3, column E ("MitigationCode"): No node “9.9” in AI Risk Mitigation Taxonomy '
        "(preliminary) (airm-preliminary)."
    ]
    problems_of(path)


def test_an_unknown_source_is_named_with_row_and_column(tmp_path, untouched):
    path = write_csv(
        tmp_path / "f.csv", [MIT_MITIGATION_HEADER, ["A0702", "Second", "", "Nobody2099", "3.1"]]
    )

    _, errors = row_errors(path)

    assert errors == [
        'row 2, column D ("Action Source"): No source document “Nobody2099”. Import the '
        "documents first (a documents import in the admin, or --documents on the command line)."
    ]
    problems_of(path)


def test_a_duplicate_id_is_named_in_each_row(tmp_path, untouched):
    path = write_csv(
        tmp_path / "f.csv",
        [
            MIT_MITIGATION_HEADER,
            GOOD_ROW,
            ["A0800", "Other", "", "NIST2024", "3.1"],
            ["A0701_X", "Again", "", "NIST2024", "3.1"],
        ],
    )

    _, errors = row_errors(path)

    assert errors == [
        'row 2, column A ("Action ID"): A0701 appears more than once in the file (also in row 4).',
        'row 4, column A ("Action ID"): A0701 appears more than once in the file (also in row 2).',
    ]
    problems_of(path)


def test_a_malformed_id_and_a_missing_name_are_named(tmp_path, untouched):
    path = write_csv(tmp_path / "f.csv", [MIT_MITIGATION_HEADER, ["B12", "", "", "NIST2024", ""]])

    _, errors = row_errors(path)

    assert 'row 2, column A ("Action ID"): “B12” is not a public ID like A0983.' in errors
    problems_of(path)


def test_a_value_too_long_for_its_field_is_named(tmp_path, untouched):
    path = write_csv(
        tmp_path / "f.csv", [MIT_MITIGATION_HEADER, ["A0702", "x" * 501, "", "NIST2024", ""]]
    )

    _, errors = row_errors(path)

    assert errors == [
        'row 2, column B ("Action Name"): '
        "Ensure this value has at most 500 characters (it has 501)."
    ]


# --------------------------------------------------------------------------- files


def test_a_file_in_the_wrong_encoding_names_the_row(tmp_path, untouched):
    path = tmp_path / "latin1.csv"
    text = "Action ID,Action Name,Action Source\nA0701,Fine,NIST2024\nA0702,Café,NIST2024\n"
    path.write_bytes(text.encode("latin-1"))

    assert problems_of(path).problems == [
        "The file is not UTF-8 text: row 3 (line 3) has the byte 0xE9, which UTF-8 cannot read. "
        "Save the file as “CSV UTF-8” and upload it again."
    ]


def test_utf16_tab_separated_text_from_a_spreadsheet_program_is_read(tmp_path, admin):
    path = write_csv(
        tmp_path / "unicode.txt",
        [MIT_MITIGATION_HEADER, GOOD_ROW],
        encoding="utf-16",
        delimiter="\t",
    )

    report, _batch = import_one(path, actor=admin)

    assert report.ok and report.file_format == "tsv"
    assert Mitigation.objects.filter(number=701).exists()


def test_a_semicolon_separated_csv_is_read(tmp_path, admin):
    path = write_csv(tmp_path / "semi.csv", [MIT_MITIGATION_HEADER, GOOD_ROW], delimiter=";")

    report, _ = import_one(path, actor=admin)

    assert report.ok


def test_an_empty_file_and_a_header_without_rows_are_refused(tmp_path, untouched):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = write_csv(tmp_path / "header.csv", [MIT_MITIGATION_HEADER, ["", "", "", "", ""]])

    assert problems_of(empty).problems == ["The file is empty."]
    assert problems_of(header_only).problems == ["The file has a header but no rows to import."]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, settings, untouched):
    settings.IMPORT_MAX_BYTES = 100
    path = write_csv(tmp_path / "big.csv", [MIT_MITIGATION_HEADER] + [GOOD_ROW] * 3)

    assert problems_of(path).problems[0].startswith("The file is ")
    assert (
        "the most one import takes is 100\xa0bytes (IMPORT_MAX_BYTES)"
        in problems_of(path).problems[0]
    )


def test_a_file_over_the_row_limit_is_refused(tmp_path, settings, untouched):
    settings.IMPORT_MAX_ROWS = 2
    rows = [[f"A07{n:02d}", f"Row {n}", "", "NIST2024", "3.1"] for n in range(3)]
    path = write_csv(tmp_path / "long.csv", [MIT_MITIGATION_HEADER, *rows])

    assert problems_of(path).problems == [
        "The file has more than 2 rows, the most one import takes (IMPORT_MAX_ROWS). Split it "
        "into several files."
    ]


def test_a_row_with_cells_beyond_the_header_is_refused(tmp_path, untouched):
    path = write_csv(tmp_path / "f.csv", [MIT_MITIGATION_HEADER, [*GOOD_ROW, "stray"]])

    _, errors = row_errors(path)

    assert errors == [
        "row 2, column F: This cell is to the right of the last column that has a heading."
    ]


def test_malformed_json_names_line_and_column(tmp_path, untouched):
    path = tmp_path / "bad.json"
    path.write_text('[{"ID": "A0701", "Name": "x",}]')

    (problem,) = problems_of(path).problems
    assert problem.startswith("The file is not valid JSON: line 1, column 29: ")


# --------------------------------------------------------------------------- XLSX safety


def test_defusedxml_guards_openpyxl():
    assert openpyxl.xml.DEFUSEDXML is True


def test_a_corrupt_xlsx_is_refused(tmp_path, untouched):
    good = write_xlsx(tmp_path / "good.xlsx", [MIT_MITIGATION_HEADER, GOOD_ROW])
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(good.read_bytes()[:700])

    assert "The XLSX workbook cannot be read: it is damaged" in problems_of(broken).problems[0]


def test_a_file_named_xlsx_that_is_not_a_workbook_is_refused(tmp_path, untouched):
    path = tmp_path / "fake.xlsx"
    path.write_text("Action ID,Action Name\n")

    assert problems_of(path).problems[0].startswith("The file is named .xlsx but is not an Excel")


def test_a_password_protected_workbook_is_refused_with_that_reason(tmp_path, untouched):
    # Excel saves an encrypted workbook as an OLE2 compound file (EncryptionInfo and
    # EncryptedPackage streams) instead of a zip; this is the start of one.
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"EncryptedPackage")

    assert problems_of(path).problems == [
        "This workbook is password-protected (encrypted) or in the old .xls format, which cannot "
        "be read. Remove the password and save it as .xlsx, or export it as CSV."
    ]


def test_an_xlsx_with_an_xml_entity_bomb_is_refused(tmp_path, untouched):
    workbook = Workbook()
    workbook.active.append(MIT_MITIGATION_HEADER)
    workbook.active.append(GOOD_ROW)
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"<worksheet",
                    b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                    b"<worksheet",
                    1,
                )
            target.writestr(item, data)

    assert "The workbook contains XML that is refused for safety" in problems_of(path).problems[0]


def test_an_xlsx_that_would_unpack_to_far_more_than_its_size_is_refused(
    tmp_path, settings, untouched
):
    settings.IMPORT_MAX_BYTES = 10_000
    path = tmp_path / "zipbomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/padding.xml", b"\x00" * 5_000_000)

    assert "would unpack to" in problems_of(path).problems[0]


def test_rows_with_errors_are_counted_and_nothing_else_is_written(tmp_path, untouched):
    path = write_csv(
        tmp_path / "f.csv",
        [MIT_MITIGATION_HEADER, GOOD_ROW, ["A0702", "Second", "", "Nobody2099", "3.1"]],
    )

    report = problems_of(path)

    assert (report.counts[RowAction.NEW], report.counts[RowAction.ERROR]) == (1, 1)
