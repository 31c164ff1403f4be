"""Source documents and taxonomy nodes as CSV, XLSX or JSON, in the layouts the importer reads.

Each table has one column per field under a heading a person can read (``Short reference``,
``Catch-all``) that is also a heading the importer knows (:mod:`catalog.imports.layouts`:
``documents`` and ``nodes``), so a download imports back unchanged. As with the mitigation
export (:mod:`catalog.exports`), every CSV and XLSX cell that a spreadsheet program would run
as a formula is made inert (:func:`catalog.spreadsheet.make_inert`; the importer undoes it),
XLSX cells are text with control characters escaped, and JSON holds the values as they are,
under the keys of the same columns (``short_ref``, ``catch_all``).

The tables are small (tens to thousands of rows): each is read in one query.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from . import exports, spreadsheet
from .models import DocType, SourceDocument, Taxonomy, TaxonomyNode

FORMATS = exports.FORMATS


@dataclass(frozen=True)
class Column:
    heading: str  # the header cell (CSV, XLSX)
    key: str  # the JSON key
    value: Callable[[Any], Any]  # the JSON value of a record
    width: int = 20  # XLSX column width, in characters

    def text(self, record) -> str:
        """The cell of a spreadsheet (before it is made inert)."""
        value = self.value(record)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)


def _doc_type_label(source: SourceDocument) -> str:
    return DocType(source.doc_type).label if source.doc_type in DocType.values else source.doc_type


SOURCE_COLUMNS = (
    Column("Short reference", "short_ref", lambda s: s.short_ref, 18),
    Column("Document ID", "document_id", lambda s: s.document_id, 11),
    Column("Title", "title", lambda s: s.title, 60),
    Column("First author", "first_author", lambda s: s.first_author, 24),
    Column("Authors", "authors", lambda s: s.authors, 40),
    Column("Year", "year", lambda s: s.year, 7),
    Column("Abstract", "abstract", lambda s: s.abstract, 70),
    Column("Description", "description", lambda s: s.description, 50),
    Column("URL", "url", lambda s: s.url, 40),
    Column("DOI", "doi", lambda s: s.doi, 24),
    Column("Type", "type", _doc_type_label, 28),
)

NODE_COLUMNS = (
    Column("Taxonomy", "taxonomy", lambda n: n.taxonomy.slug, 18),
    Column("Code", "code", lambda n: n.code, 9),
    Column("Name", "name", lambda n: n.name, 40),
    Column("Parent", "parent", lambda n: n.parent.code if n.parent_id else None, 9),
    Column("Definition", "definition", lambda n: n.definition, 70),
    Column("Order", "order", lambda n: n.order, 7),
    Column("Catch-all", "catch_all", lambda n: n.is_catch_all, 10),
)


@dataclass(frozen=True)
class Table:
    """One downloadable table: its columns, its records, and how its files are named."""

    columns: tuple[Column, ...]
    records: Iterable
    json_key: str  # the list's key in the JSON file ("documents", "nodes")
    sheet_title: str
    filename_stem: str
    about: dict | None = None  # extra top-level JSON members (e.g. the taxonomy)

    def rows(self) -> Iterator[list[str]]:
        """The header, then one row per record, every cell made inert."""
        yield [column.heading for column in self.columns]
        inert = spreadsheet.make_inert
        for record in self.records:
            yield [inert(column.text(record)) for column in self.columns]

    def documents(self) -> Iterator[dict]:
        for record in self.records:
            yield {column.key: column.value(record) for column in self.columns}

    def iter_json(self) -> Iterator[bytes]:
        head = {"generated_at": timezone.now().isoformat(), **(self.about or {})}
        opening = json.dumps(head, ensure_ascii=False)[:-1]
        yield (opening + f', "{self.json_key}": [').encode()
        for index, document in enumerate(self.documents()):
            yield (
                (b"," if index else b"") + b"\n" + json.dumps(document, ensure_ascii=False).encode()
            )
        yield b"\n]}\n"

    def width(self, heading: str) -> int:
        return next((c.width for c in self.columns if c.heading == heading), 20)

    def write(self, fmt: str, target) -> None:
        """Write the table in ``fmt`` to the binary file ``target``."""
        if fmt == "xlsx":
            exports.write_xlsx(self.rows(), target, sheet_title=self.sheet_title, width=self.width)
            return
        chunks = exports.iter_csv(self.rows()) if fmt == "csv" else self.iter_json()
        for chunk in chunks:
            target.write(chunk)

    def response(self, fmt: str):
        """An HTTP response that downloads the table as ``fmt``."""
        if fmt not in FORMATS:
            raise ValueError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")
        filename = f"{self.filename_stem}-{timezone.now():%Y-%m-%d}.{fmt}"
        if fmt == "xlsx":
            spool = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it when sent)
            self.write(fmt, spool)
            spool.seek(0)
            return FileResponse(
                spool, as_attachment=True, filename=filename, content_type=FORMATS[fmt]
            )
        body = exports.iter_csv(self.rows()) if fmt == "csv" else self.iter_json()
        result = StreamingHttpResponse(body, content_type=FORMATS[fmt])
        result["Content-Disposition"] = content_disposition_header(True, filename)
        return result


def source_table(queryset: QuerySet[SourceDocument] | None = None) -> Table:
    """Source documents (all of them by default), by short reference."""
    if queryset is None:
        queryset = SourceDocument.objects.all()
    return Table(
        columns=SOURCE_COLUMNS,
        records=list(queryset.order_by("short_ref")),
        json_key="documents",
        sheet_title="Source documents",
        filename_stem="airm-sources",
    )


def node_table(
    queryset: QuerySet[TaxonomyNode] | None = None, *, taxonomy: Taxonomy | None = None
) -> Table:
    """Taxonomy nodes (of ``taxonomy``, or of every taxonomy), parents before children."""
    if queryset is None:
        queryset = TaxonomyNode.objects.all()
    if taxonomy is not None:
        queryset = queryset.filter(taxonomy=taxonomy)
    nodes = list(
        queryset.select_related("taxonomy", "parent").order_by(
            "taxonomy__order", "taxonomy__slug", "path"
        )
    )
    about = None
    if taxonomy is not None:
        about = {
            "taxonomy": {
                "slug": taxonomy.slug,
                "name": taxonomy.name,
                "version": taxonomy.version,
                "status": taxonomy.status,
                "kind": taxonomy.kind,
                "multi_valued": taxonomy.multi_valued,
            }
        }
    return Table(
        columns=NODE_COLUMNS,
        records=nodes,
        json_key="nodes",
        sheet_title="Taxonomy nodes",
        filename_stem=f"airm-taxonomy-{taxonomy.slug}" if taxonomy else "airm-taxonomy-nodes",
        about=about,
    )
