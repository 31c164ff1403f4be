"""Streamed exports of any list of mitigations as CSV, XLSX or JSON.

Rows are read as plain values (no model instances: building 100,000 of them would cost more
than the query) in chunks of :data:`CHUNK_SIZE`, each chunk's classifications in one more
query, so an export of 100,000 rows runs in constant memory and a fixed number of queries per
chunk. CSV and JSON are produced as the response streams; XLSX, a zip archive, is written to a
temporary file with openpyxl's write-only mode and then streamed from there.
"""

from __future__ import annotations

import codecs
import csv
import json
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import batched

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from . import spreadsheet
from .models import Classification, Mitigation, Taxonomy, TaxonomyNode

CHUNK_SIZE = 2000
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def export_taxonomies() -> list[Taxonomy]:
    return list(Taxonomy.objects.all())


RECORD_FIELDS = (
    "pk",
    "number",
    "name",
    "definition",
    "source__short_ref",
    "section_path",
    "status",
    "merged_into__number",
    "status_note",
    "updated_at",
)


def export_records(queryset: QuerySet[Mitigation]) -> Iterator[spreadsheet.ExportRecord]:
    """The mitigations of ``queryset``, in its order, as export records, chunk by chunk.

    Queries: the nodes once, the mitigations (one cursor), and per chunk its classifications.
    """
    nodes = {node.pk: node for node in TaxonomyNode.objects.only("code", "name", "path")}
    values = queryset.values_list(*RECORD_FIELDS).iterator(chunk_size=CHUNK_SIZE)
    for chunk in batched(values, CHUNK_SIZE):
        placements: dict[int, list[spreadsheet.PlacedNode]] = defaultdict(list)
        classified = (
            Classification.objects.filter(mitigation_id__in=[row[0] for row in chunk])
            .order_by()
            .values_list("mitigation_id", "taxonomy_id", "node_id", "reasoning")
        )
        for mitigation_id, taxonomy_id, node_id, reasoning in classified:
            placements[mitigation_id].append(
                spreadsheet.PlacedNode(taxonomy_id, nodes[node_id], reasoning)
            )
        for pk, *fields in chunk:
            yield spreadsheet.ExportRecord(*fields, placements=placements[pk])


def rows(
    queryset: QuerySet[Mitigation], taxonomies: list[Taxonomy], *, readable: bool = False
) -> Iterator[list[str]]:
    """The header (taxonomies by name if ``readable``, else by slug), then one row per
    mitigation, every cell made inert."""
    yield spreadsheet.header(taxonomies, readable=readable)
    inert = spreadsheet.make_inert
    for record in export_records(queryset):
        yield [inert(value) for value in spreadsheet.record_row(record, taxonomies)]


class _Echo:
    def write(self, value):
        return value


def iter_csv(table: Iterable[list[str]]) -> Iterator[bytes]:
    """UTF-8 CSV with a byte-order mark (so spreadsheet programs read it as UTF-8)."""
    writer = csv.writer(_Echo())
    yield codecs.BOM_UTF8
    for row in table:
        yield writer.writerow(row).encode("utf-8")


def iter_json(queryset: QuerySet[Mitigation], taxonomies: list[Taxonomy]) -> Iterator[bytes]:
    yield (
        b'{"generated_at": '
        + json.dumps(timezone.now().isoformat()).encode()
        + b', "mitigations": ['
    )
    first = True
    for record in export_records(queryset):
        document = spreadsheet.record_document(record, taxonomies)
        yield (b"" if first else b",") + b"\n" + json.dumps(document, ensure_ascii=False).encode()
        first = False
    yield b"\n]}\n"


# Column widths (in characters) for a workbook a person reads: by heading, else by kind.
XLSX_WIDTHS = {
    spreadsheet.COLUMN_ID: 9,
    spreadsheet.COLUMN_NAME: 44,
    spreadsheet.COLUMN_DEFINITION: 70,
    spreadsheet.COLUMN_SOURCE: 22,
    spreadsheet.COLUMN_SECTION: 34,
    spreadsheet.COLUMN_STATUS: 10,
    spreadsheet.COLUMN_MERGED_INTO: 12,
    spreadsheet.COLUMN_STATUS_NOTE: 34,
}
XLSX_NODE_WIDTH = 34
XLSX_REASONING_WIDTH = 44


def xlsx_width(heading: str) -> int:
    if heading in XLSX_WIDTHS:
        return XLSX_WIDTHS[heading]
    if heading.endswith(spreadsheet.REASONING_SUFFIX):
        return XLSX_REASONING_WIDTH
    return max(XLSX_NODE_WIDTH, min(len(heading) + 2, 60))


def write_xlsx(
    table: Iterable[list[str]],
    target,
    *,
    sheet_title: str = "Mitigations",
    width: Callable[[str], int] | None = None,
) -> None:
    """Write ``table`` (its first row the header) to ``target`` (a path or binary file) as a
    one-sheet workbook made to be opened by hand: the header bold and frozen, an autofilter
    over every column, and widths that fit each kind of column (``width`` of a heading;
    the mitigation layout's by default).

    Every cell is text: values come made inert, and a string that still starts with ``=`` is
    written as a typed string cell, never as the formula openpyxl would otherwise store.
    Control characters are OOXML-escaped so that they read back exactly
    (:func:`catalog.spreadsheet.ooxml_escape`).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    def as_text(value):
        if isinstance(value, str) and value.startswith("="):
            # openpyxl would store it as a formula; rows() makes these inert, this is a guard.
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
        return spreadsheet.ooxml_escape(value)

    def heading(value):
        cell = WriteOnlyCell(sheet, value=spreadsheet.ooxml_escape(value))
        cell.data_type = "s"
        cell.font = Font(bold=True)
        return cell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    width = width or xlsx_width
    table = iter(table)
    header = next(table, None)
    if header is None:
        workbook.save(target)
        return
    # A write-only sheet takes its columns and view before its first row.
    for index, title in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width(str(title))
    sheet.freeze_panes = "A2"
    sheet.append([heading(value) for value in header])
    count = 1
    for row in table:
        sheet.append([as_text(value) for value in row])
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(header), 1))}{count}"
    workbook.save(target)


def write(queryset: QuerySet[Mitigation], fmt: str, target) -> None:
    """Write the export of ``queryset`` in ``fmt`` to the binary file ``target``."""
    taxonomies = export_taxonomies()
    if fmt == "xlsx":
        write_xlsx(rows(queryset, taxonomies, readable=True), target)
        return
    chunks = (
        iter_csv(rows(queryset, taxonomies)) if fmt == "csv" else iter_json(queryset, taxonomies)
    )
    for chunk in chunks:
        target.write(chunk)


def response(queryset: QuerySet[Mitigation], fmt: str, filename_stem: str):
    """An HTTP response that downloads the export of ``queryset`` as ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    filename = f"{filename_stem}.{fmt}"
    taxonomies = export_taxonomies()
    if fmt == "xlsx":
        spool = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it when sent)
        write_xlsx(rows(queryset, taxonomies, readable=True), spool)
        spool.seek(0)
        return FileResponse(spool, as_attachment=True, filename=filename, content_type=FORMATS[fmt])
    body = iter_csv(rows(queryset, taxonomies)) if fmt == "csv" else iter_json(queryset, taxonomies)
    result = StreamingHttpResponse(body, content_type=FORMATS[fmt])
    result["Content-Disposition"] = content_disposition_header(True, filename)
    return result


# --------------------------------------------------------------------------- the coverage table


def coverage_rows(chart) -> Iterator[list]:
    """The coverage table (``catalog.coverage.Chart``) as spreadsheet rows: a header of the
    columns, one row per category with its counts and total, then the column totals."""
    yield ["Code", chart.rows_taxonomy.name, *(column.label for column in chart.columns), "All"]
    for row in chart.rows:
        yield [
            row.node.code,
            row.node.name,
            *(cell.count for cell in row.cells),
            row.total,
        ]
    yield ["", "All categories", *(column.total for column in chart.columns), chart.total]


def coverage_response(chart, filename_stem: str) -> StreamingHttpResponse:
    table = ([spreadsheet.make_inert(value) for value in row] for row in coverage_rows(chart))
    result = StreamingHttpResponse(iter_csv(table), content_type=FORMATS["csv"])
    result["Content-Disposition"] = content_disposition_header(True, f"{filename_stem}.csv")
    return result
