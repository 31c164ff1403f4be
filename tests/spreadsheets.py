"""Spreadsheets for import tests, written in the catalog's and MIT's layouts in our own words."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import Workbook

from catalog import exports
from catalog.imports.batches import FileToImport, import_files
from catalog.models import (
    Classification,
    ImportKind,
    Mitigation,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
)

MIT_MITIGATION_HEADER = [
    "Action ID",
    "Action Name",
    "Action Definition",
    "Action Source",
    "MitigationCode",
]
MIT_DOCUMENT_HEADER = [
    "ShortRef",
    "DocumentID",
    "Title",
    "First author",
    "Year",
    "Abstract",
    "Description",
    "URL",
    "DOI",
    "Type",
]
CATALOG_BASE = ["ID", "Name", "Definition", "Source", "Section"]


def write_csv(path: Path, rows, *, encoding="utf-8-sig", delimiter=",") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_json(path: Path, document) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def export_to(path: Path, queryset=None, fmt: str | None = None) -> Path:
    fmt = fmt or path.suffix.lstrip(".")
    with open(path, "wb") as handle:
        exports.write(queryset if queryset is not None else Mitigation.objects.all(), fmt, handle)
    return path


def import_one(path: Path, *, kind=ImportKind.MITIGATIONS, actor=None, dry_run=False):
    """Import one file as the command line does: ``(report, batch or None)``."""
    ((report, batch),) = import_files([FileToImport(path, kind)], actor=actor, dry_run=dry_run)
    return report, batch


def history_total() -> int:
    return sum(
        model.history.count()
        for model in (Mitigation, Classification, SourceDocument, TaxonomyNode, Taxonomy)
    )


def catalog_state() -> list[tuple]:
    """Everything an import could change, comparable before and after."""
    return [
        *Mitigation.objects.order_by("number").values_list(
            "number", "name", "definition", "source_id", "section_path", "status"
        ),
        *Classification.objects.order_by("pk").values_list("mitigation_id", "node_id", "reasoning"),
        *SourceDocument.objects.order_by("pk").values_list(
            "short_ref", "title", "abstract", "doc_type", "year", "document_id"
        ),
        *TaxonomyNode.objects.order_by("pk").values_list("code", "name", "parent_id", "path"),
    ]


def csv_text(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
