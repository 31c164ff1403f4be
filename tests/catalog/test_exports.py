"""CSV, XLSX and JSON exports: complete, formula-safe, streamed in a fixed number of queries."""

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from catalog import exports, services, spreadsheet
from catalog.models import Mitigation, SourceDocument, Taxonomy
from tests.factories import MitigationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def formula_like():
    return MitigationFactory(
        name='=HYPERLINK("http://evil.example","click")',
        definition="-based filtering of prompts",
        source=SourceDocument.objects.get(short_ref="NIST2024"),
    )


def export_bytes(queryset, fmt):
    buffer = io.BytesIO()
    exports.write(queryset, fmt, buffer)
    return buffer.getvalue()


def test_csv_has_a_bom_a_header_and_every_row(formula_like):
    data = export_bytes(Mitigation.objects.all(), "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][0] == "ID"
    assert len(rows) == Mitigation.objects.count() + 1


def test_csv_cells_that_would_run_as_formulas_are_inert(formula_like):
    data = export_bytes(Mitigation.objects.filter(pk=formula_like.pk), "csv")
    (row,) = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert row["Name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["Definition"] == "'-based filtering of prompts"


def test_xlsx_cells_are_strings_and_inert(formula_like):
    data = export_bytes(Mitigation.objects.filter(pk=formula_like.pk), "xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    header = [cell.value for cell in sheet[1]]
    values = dict(zip(header, [cell for cell in sheet[2]], strict=True))
    assert values["Name"].value.startswith("'=HYPERLINK")
    assert values["Name"].data_type == "s"
    assert values["Definition"].value == "'-based filtering of prompts"


def test_xlsx_is_made_to_be_opened_by_hand():
    data = export_bytes(Mitigation.objects.all(), "xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    header = [cell.value for cell in sheet[1]]
    taxonomies = list(Taxonomy.objects.all())
    # Headers a person can read: each taxonomy by its name, not its slug.
    assert header[:8] == list(spreadsheet.BASE_COLUMNS)
    assert header[8:] == [
        heading for t in taxonomies for heading in (t.name, f"{t.name} reasoning")
    ]
    assert "AI lifecycle stage" in header and "lifecycle" not in header
    assert all(cell.font.bold for cell in sheet[1])
    # The header row stays in view, every column can be filtered, widths fit their content.
    assert sheet.freeze_panes == "A2"
    last = get_column_letter(len(header))
    assert sheet.auto_filter.ref == f"A1:{last}{Mitigation.objects.count() + 1}"
    widths = {
        sheet.cell(1, i + 1).value: sheet.column_dimensions[get_column_letter(i + 1)].width
        for i in range(len(header))
    }
    assert widths["ID"] < widths["Name"] < widths["Definition"]
    assert widths["AI lifecycle stage"] >= 30


def test_csv_and_json_keep_the_slugs_that_scripts_rely_on():
    rows = list(
        csv.reader(io.StringIO(export_bytes(Mitigation.objects.all(), "csv").decode("utf-8-sig")))
    )
    assert "lifecycle" in rows[0] and "lifecycle reasoning" in rows[0]


def test_json_keeps_values_as_they_are_with_classifications(formula_like):
    document = json.loads(export_bytes(Mitigation.objects.all(), "json"))
    by_id = {m["id"]: m for m in document["mitigations"]}
    assert by_id[formula_like.public_id]["name"].startswith("=HYPERLINK")
    adversarial = by_id[Mitigation.objects.get(name="Adversarial training").public_id]
    (draft,) = adversarial["classifications"]["airm-draft"]
    assert (draft["code"], draft["name"]) == ("1.1.2", "Learning Objectives")
    assert draft["reasoning"]


def test_retired_and_merged_records_export_their_status():
    target, duplicate = Mitigation.objects.order_by("number")[:2]
    services.mitigation_merge(mitigation=duplicate, into=target, actor=None, reason="Same")
    data = export_bytes(Mitigation.objects.filter(pk=duplicate.pk), "csv")
    (row,) = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert (row["Status"], row["Merged into"]) == ("merged", target.public_id)


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_the_number_of_queries_does_not_grow_with_the_rows(fmt, django_assert_num_queries):
    # taxonomies, nodes, the mitigations, then per chunk of 2,000 its classifications
    with django_assert_num_queries(4):
        export_bytes(Mitigation.objects.all(), fmt)
    MitigationFactory.create_batch(20)
    with django_assert_num_queries(4):
        export_bytes(Mitigation.objects.all(), fmt)


def test_a_long_export_reads_one_classification_query_per_chunk(
    monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 10)
    total = Mitigation.objects.count()
    chunks = -(-total // 10)
    with django_assert_num_queries(3 + chunks):
        rows = list(
            csv.reader(
                io.StringIO(export_bytes(Mitigation.objects.all(), "csv").decode("utf-8-sig"))
            )
        )
    assert len(rows) == total + 1
    by_id = {row[0]: row for row in rows[1:]}
    adversarial = Mitigation.objects.get(name="Adversarial training")
    assert by_id[adversarial.public_id][8] == "2.3 Model Safety Engineering"


def test_the_http_response_names_the_file_and_streams(client):
    response = exports.response(Mitigation.objects.all(), "csv", "airm-mitigations")
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="airm-mitigations.csv"'
    with pytest.raises(ValueError, match="Unknown export format"):
        exports.response(Mitigation.objects.all(), "exe", "x")
