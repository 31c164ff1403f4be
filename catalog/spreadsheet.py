"""The catalog's spreadsheet layout, shared by every export and by the importer.

One row per mitigation. The base columns come first, then two columns per taxonomy (in the
taxonomies' display order): ``<slug>`` holds the node as ``"<code> <name>"`` (several nodes of a
multi-valued taxonomy are joined by ``"; "``), ``<slug> reasoning`` the one-line reasoning.
XLSX files, which people open by hand, name those columns by the taxonomy's name instead
(``AI lifecycle stage``); the importer reads a taxonomy's column by its slug or its name.
The importer reads a node by its code, the text up to the first space, so MIT's own
``"3.1 Testing & Auditing"`` and a bare ``"3.1"`` both work.

Formula safety: a spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula. Every CSV and XLSX export therefore writes such a value with one
apostrophe in front (``=1+1`` → ``'=1+1``), and so does a value that already starts with
apostrophes followed by one of those characters (``'=x`` → ``''=x``), so that :func:`undo_inert`
restores the original exactly: export → import changes nothing. JSON is not made inert.

Several nodes of a multi-valued taxonomy are joined by ``"; "``, and so are their reasonings,
one per node in the same order (empty ones included, unless all are empty), so that an import
can tell which reasoning belongs to which node.

XLSX cells hold XML text, which cannot carry a carriage return (XML reads it as a line feed)
or most other control characters. :func:`ooxml_escape` writes them as OOXML's ``_xHHHH_``
escapes, as Excel does (and escapes a literal ``_xHHHH_`` as ``_x005F_xHHHH_``);
:func:`ooxml_unescape` reads them back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .models import Mitigation, Taxonomy, TaxonomyNode, format_public_id

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
INERT_PREFIX = "'"

COLUMN_ID = "ID"
COLUMN_NAME = "Name"
COLUMN_DEFINITION = "Definition"
COLUMN_SOURCE = "Source"
COLUMN_SECTION = "Section"
COLUMN_STATUS = "Status"
COLUMN_MERGED_INTO = "Merged into"
COLUMN_STATUS_NOTE = "Status note"

BASE_COLUMNS = (
    COLUMN_ID,
    COLUMN_NAME,
    COLUMN_DEFINITION,
    COLUMN_SOURCE,
    COLUMN_SECTION,
    COLUMN_STATUS,
    COLUMN_MERGED_INTO,
    COLUMN_STATUS_NOTE,
)
REASONING_SUFFIX = " reasoning"
MULTI_VALUE_SEPARATOR = "; "


def _triggers_formula(value: str) -> bool:
    return value.lstrip(INERT_PREFIX)[:1] in FORMULA_TRIGGERS if value else False


def make_inert(value):
    """Prefix an apostrophe where a spreadsheet would run the value (see the module doc)."""
    if isinstance(value, str) and _triggers_formula(value):
        return INERT_PREFIX + value
    return value


def undo_inert(value):
    """The inverse of :func:`make_inert`; values that were never made inert pass unchanged."""
    if isinstance(value, str) and value.startswith(INERT_PREFIX) and _triggers_formula(value):
        return value[1:]
    return value


_OOXML_LITERAL = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
_OOXML_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x0d\x0e-\x1f]")
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def ooxml_escape(value):
    """A string as an XLSX cell must hold it to read back exactly (see the module doc)."""
    if not isinstance(value, str) or not ("_x" in value or _OOXML_UNSAFE.search(value)):
        return value
    value = _OOXML_LITERAL.sub("_x005F_", value)
    return _OOXML_UNSAFE.sub(lambda match: f"_x{ord(match.group()):04X}_", value)


def ooxml_unescape(value: str) -> str:
    """The inverse of :func:`ooxml_escape`, for text read from a workbook."""
    if "_x" not in value:
        return value
    return _OOXML_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), value)


def taxonomy_columns(taxonomy: Taxonomy, *, readable: bool = False) -> tuple[str, str]:
    """A taxonomy's two columns: by slug (``lifecycle``, ``lifecycle reasoning``), or, for
    people, by name (``AI lifecycle stage``, ``AI lifecycle stage reasoning``). The importer
    reads either."""
    title = taxonomy.name if readable else taxonomy.slug
    return title, title + REASONING_SUFFIX


def header(taxonomies: Iterable[Taxonomy], *, readable: bool = False) -> list[str]:
    columns = list(BASE_COLUMNS)
    for taxonomy in taxonomies:
        columns.extend(taxonomy_columns(taxonomy, readable=readable))
    return columns


@dataclass(frozen=True)
class PlacedNode:
    taxonomy_id: int
    node: TaxonomyNode
    reasoning: str


@dataclass(frozen=True)
class ExportRecord:
    """What a row holds of one mitigation: plain values, read without building models."""

    number: int
    name: str
    definition: str
    source: str  # the document's short reference
    section_path: str
    status: str
    merged_into: int | None  # the number of the record it was merged into
    status_note: str
    updated_at: datetime
    placements: list[PlacedNode] = field(default_factory=list)

    @property
    def public_id(self) -> str:
        return format_public_id(self.number)

    def placed_in(self, taxonomy: Taxonomy) -> list[PlacedNode]:
        return sorted(
            (p for p in self.placements if p.taxonomy_id == taxonomy.pk),
            key=lambda p: p.node.path,
        )

    @classmethod
    def of(cls, mitigation: Mitigation) -> ExportRecord:
        """The record of a model instance (its classifications and nodes best prefetched)."""
        return cls(
            number=mitigation.number,
            name=mitigation.name,
            definition=mitigation.definition,
            source=mitigation.source.short_ref,
            section_path=mitigation.section_path,
            status=mitigation.status,
            merged_into=mitigation.merged_into.number if mitigation.merged_into_id else None,
            status_note=mitigation.status_note,
            updated_at=mitigation.updated_at,
            placements=[
                PlacedNode(c.taxonomy_id, c.node, c.reasoning)
                for c in mitigation.classifications.all()
            ],
        )


def record_row(record: ExportRecord, taxonomies: Iterable[Taxonomy]) -> list[str]:
    """The spreadsheet row of ``record`` (values as they are: the writer makes them inert)."""
    row = [
        record.public_id,
        record.name,
        record.definition,
        record.source,
        record.section_path,
        record.status,
        format_public_id(record.merged_into) if record.merged_into else "",
        record.status_note,
    ]
    for taxonomy in taxonomies:
        placed = record.placed_in(taxonomy)
        row.append(MULTI_VALUE_SEPARATOR.join(p.node.label for p in placed))
        reasonings = [p.reasoning for p in placed]
        row.append(MULTI_VALUE_SEPARATOR.join(reasonings) if any(reasonings) else "")
    return row


def record_document(record: ExportRecord, taxonomies: Iterable[Taxonomy]) -> dict:
    """The JSON form of one mitigation (values as they are, nothing made inert)."""
    return {
        "id": record.public_id,
        "name": record.name,
        "definition": record.definition,
        "source": record.source,
        "section": record.section_path,
        "status": record.status,
        "merged_into": format_public_id(record.merged_into) if record.merged_into else None,
        "status_note": record.status_note,
        "updated_at": record.updated_at.isoformat(),
        "classifications": {
            taxonomy.slug: [
                {"code": p.node.code, "name": p.node.name, "reasoning": p.reasoning}
                for p in record.placed_in(taxonomy)
            ]
            for taxonomy in taxonomies
        },
    }


def mitigation_row(mitigation: Mitigation, taxonomies: Iterable[Taxonomy]) -> list[str]:
    """The row of one model instance (see :func:`record_row`)."""
    return record_row(ExportRecord.of(mitigation), taxonomies)
