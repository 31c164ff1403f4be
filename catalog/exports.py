"""Streamed exports of any list of mitigations as CSV, XLSX or JSON.

Rows are read in chunks (``iterator(chunk_size=…)`` with the classifications prefetched per
chunk), so an export of 100,000 rows runs in constant memory and a fixed number of queries per
chunk. CSV and JSON are produced as the response streams; XLSX, a zip archive, is written to a
temporary file with openpyxl's write-only mode and then streamed from there.
"""

from __future__ import annotations

import codecs
import csv
import json
import tempfile
from collections.abc import Iterable, Iterator

from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from . import spreadsheet
from .models import Classification, Mitigation, Taxonomy

CHUNK_SIZE = 2000
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def export_taxonomies() -> list[Taxonomy]:
    return list(Taxonomy.objects.all())


def export_queryset(queryset: QuerySet[Mitigation]) -> Iterator[Mitigation]:
    """The mitigations of ``queryset`` with everything a row needs, read chunk by chunk."""
    return (
        queryset.select_related("source", "merged_into")
        .prefetch_related(
            Prefetch("classifications", queryset=Classification.objects.select_related("node"))
        )
        .iterator(chunk_size=CHUNK_SIZE)
    )


def rows(queryset: QuerySet[Mitigation], taxonomies: list[Taxonomy]) -> Iterator[list[str]]:
    """The header, then one row per mitigation, every cell made inert."""
    yield spreadsheet.header(taxonomies)
    for mitigation in export_queryset(queryset):
        yield [
            spreadsheet.make_inert(v) for v in spreadsheet.mitigation_row(mitigation, taxonomies)
        ]


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
    for mitigation in export_queryset(queryset):
        document = spreadsheet.mitigation_document(mitigation, taxonomies)
        yield (b"" if first else b",") + b"\n" + json.dumps(document, ensure_ascii=False).encode()
        first = False
    yield b"\n]}\n"


def write_xlsx(table: Iterable[list[str]], target) -> None:
    """Write ``table`` to ``target`` (a path or binary file) as a one-sheet workbook.

    Every cell is written as a string: openpyxl would otherwise store a string that starts
    with ``=`` as a formula. Control characters are OOXML-escaped so that they read back
    exactly (:func:`catalog.spreadsheet.ooxml_escape`).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Mitigations")
    for row in table:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=spreadsheet.ooxml_escape(value))
            cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    workbook.save(target)


def write(queryset: QuerySet[Mitigation], fmt: str, target) -> None:
    """Write the export of ``queryset`` in ``fmt`` to the binary file ``target``."""
    taxonomies = export_taxonomies()
    if fmt == "xlsx":
        write_xlsx(rows(queryset, taxonomies), target)
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
        write_xlsx(rows(queryset, taxonomies), spool)
        spool.seek(0)
        return FileResponse(spool, as_attachment=True, filename=filename, content_type=FORMATS[fmt])
    body = iter_csv(rows(queryset, taxonomies)) if fmt == "csv" else iter_json(queryset, taxonomies)
    result = StreamingHttpResponse(body, content_type=FORMATS[fmt])
    result["Content-Disposition"] = content_disposition_header(True, filename)
    return result
