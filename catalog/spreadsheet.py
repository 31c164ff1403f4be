"""The catalog's spreadsheet layout, shared by every export and by the importer.

One row per mitigation. The base columns come first, then two columns per taxonomy (in the
taxonomies' display order): ``<slug>`` holds the node as ``"<code> <name>"`` (several nodes of a
multi-valued taxonomy are joined by ``"; "``), ``<slug> reasoning`` the one-line reasoning.
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

from .models import Mitigation, Taxonomy

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


def taxonomy_columns(taxonomy: Taxonomy) -> tuple[str, str]:
    return taxonomy.slug, taxonomy.slug + REASONING_SUFFIX


def header(taxonomies: Iterable[Taxonomy]) -> list[str]:
    columns = list(BASE_COLUMNS)
    for taxonomy in taxonomies:
        columns.extend(taxonomy_columns(taxonomy))
    return columns


def mitigation_row(mitigation: Mitigation, taxonomies: Iterable[Taxonomy]) -> list[str]:
    """The row for ``mitigation``; its classifications (with nodes) should be prefetched."""
    by_taxonomy: dict[int, list] = {}
    for classification in mitigation.classifications.all():
        by_taxonomy.setdefault(classification.taxonomy_id, []).append(classification)
    row = [
        mitigation.public_id,
        mitigation.name,
        mitigation.definition,
        mitigation.source.short_ref,
        mitigation.section_path,
        mitigation.status,
        mitigation.merged_into.public_id if mitigation.merged_into_id else "",
        mitigation.status_note,
    ]
    for taxonomy in taxonomies:
        placed = sorted(by_taxonomy.get(taxonomy.pk, []), key=lambda c: c.node.path)
        row.append(MULTI_VALUE_SEPARATOR.join(c.node.label for c in placed))
        reasonings = [c.reasoning for c in placed]
        row.append(MULTI_VALUE_SEPARATOR.join(reasonings) if any(reasonings) else "")
    return row


def mitigation_document(mitigation: Mitigation, taxonomies: Iterable[Taxonomy]) -> dict:
    """The JSON form of one mitigation (values as they are, nothing made inert)."""
    by_taxonomy: dict[int, list] = {}
    for classification in mitigation.classifications.all():
        by_taxonomy.setdefault(classification.taxonomy_id, []).append(classification)
    return {
        "id": mitigation.public_id,
        "name": mitigation.name,
        "definition": mitigation.definition,
        "source": mitigation.source.short_ref,
        "section": mitigation.section_path,
        "status": mitigation.status,
        "merged_into": mitigation.merged_into.public_id if mitigation.merged_into_id else None,
        "status_note": mitigation.status_note,
        "updated_at": mitigation.updated_at.isoformat(),
        "classifications": {
            taxonomy.slug: [
                {"code": c.node.code, "name": c.node.name, "reasoning": c.reasoning}
                for c in sorted(by_taxonomy.get(taxonomy.pk, []), key=lambda c: c.node.path)
            ]
            for taxonomy in taxonomies
        },
    }
