"""The import pipeline: file → table → layout → one plan per row → (when applying) the writes.

1. :func:`catalog.imports.readers.open_table` checks size and format and reads the header;
   :func:`catalog.imports.layouts.detect` tells the layout from it.
2. A first pass over the rows (:meth:`Importer.scan`) collects the keys only: duplicates, the
   row count (checked against ``IMPORT_MAX_ROWS``) and the highest public ID in the file.
3. The second pass reads the rows in chunks. Each row becomes the wanted state of one record
   (a ``*Upsert`` item of :mod:`catalog.services`) or row errors (unknown source, unknown
   node code, …). The chunk's items go to the matching bulk service, which compares them with
   the catalog in a few queries and says per item: new, changed (which fields, old and new
   values), unchanged, or error. When applying, the same call writes the chunk, with history.
4. Each chunk's :class:`RowPlan` list goes to ``on_chunk`` (the admin stores it for the
   paginated preview, the command line prints errors), and into the report's counts and
   fingerprint (a digest of every row's plan, so a confirm can tell that it would do exactly
   what the preview showed).

Memory stays flat (one chunk at a time). Applying happens inside the caller's transaction:
once any row fails, nothing more is written, the rest is still checked (so the report lists
every error), and the caller rolls everything back. :class:`RowPlan` with its ``item`` is the
seam for other consumers, e.g. turning each new or changed row into a proposal.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError

from .. import limits, services
from ..models import (
    Classification,
    DocType,
    ImportKind,
    MitigationStatus,
    RowAction,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
    format_public_id,
    parse_public_id,
)
from ..spreadsheet import undo_inert
from .layouts import Mapping, detect
from .readers import FileProblem, open_table

CHUNK_SIZE = 2000
SOURCE_HINT = (
    "Import the documents first (a documents import in the admin, or --documents on the "
    "command line)."
)
TRUE_WORDS = {"1", "true", "yes", "y", "x", "catch-all", "catch all"}
FALSE_WORDS = {"", "0", "false", "no", "n"}
# The longest text any field holds (catalog.limits.ABSTRACT).
SHOWN_VALUE_MAX = limits.ABSTRACT
SHORT_REF_MAX = 100  # SourceDocument.short_ref's max_length: a longer one is never offered
NUL_MESSAGE = (
    "This cell holds a NUL character (shown as \ufffd), which cannot be stored. Remove it."
)


class CellChange(NamedTuple):
    """One changed value of a row: the column's heading, the value before and after, as text.
    Stored as the JSON list ``[column, old, new]`` (``PreviewRow.changes``)."""

    column: str
    old: str
    new: str


class CellError(NamedTuple):
    """Why a row cannot be written: where (a column heading, or empty for the whole row) and
    the message. Stored as the JSON list ``[where, message]`` (``PreviewRow.errors``)."""

    where: str
    message: str


@dataclass
class RowPlan:
    """What one row of the file does: its action, the changes (column heading, old, new), or
    its errors (where, message); ``item`` is what would be written (a services ``*Upsert``)."""

    row: int
    row_label: str = ""  # "row 7" in a sheet, "entry 7" in JSON
    key: str = ""
    label: str = ""
    action: str = RowAction.UNCHANGED
    changes: list[CellChange] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    item: object | None = None
    # The services' field names of ``changes``, one each in the same order (a model field, a
    # taxonomy slug or "<slug> reasoning"), for consumers that act on fields, not headings.
    fields: list[str] = field(default_factory=list)
    # Whether the file gave the key (a row without an ID gets the next free public ID).
    key_given: bool = True

    def add_error(self, where: str, message: str) -> None:
        self.errors.append(CellError(where, message))
        self.action = RowAction.ERROR


@dataclass
class ImportReport:
    """The outcome of reading (and maybe applying) one file."""

    file_name: str
    kind: str
    file_format: str = ""
    layout: str = ""
    layout_title: str = ""
    problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    rows_total: int = 0
    fingerprint: str = ""
    applied: bool = False
    changed_columns: Counter = field(default_factory=Counter)
    error_groups: dict[tuple[str, str], list] = field(default_factory=dict)
    other_errors: int = 0
    # Source documents the rows cite that the catalog lacks: short reference → rows citing it.
    unknown_sources: Counter = field(default_factory=Counter)

    MAX_UNKNOWN_SOURCES = 20

    MAX_ERROR_GROUPS = 100
    ROWS_PER_GROUP = 10

    def tally(self, plan: RowPlan) -> None:
        """Count ``plan`` in, and keep the summary a preview shows: which columns change in
        how many rows, and each distinct error with its count and first rows."""
        self.counts[plan.action] += 1
        if plan.action == RowAction.CHANGED:
            self.changed_columns.update({heading for heading, _, _ in plan.changes})
        for where, message in plan.errors:
            group = self.error_groups.get((where, message))
            if group is None:
                if len(self.error_groups) >= self.MAX_ERROR_GROUPS:
                    self.other_errors += 1
                    continue
                group = self.error_groups[(where, message)] = [0, []]
            group[0] += 1
            if len(group[1]) < self.ROWS_PER_GROUP:
                group[1].append(plan.row)

    def summary_data(self) -> dict:
        return {
            "changed_columns": self.changed_columns.most_common(),
            "errors": [
                {"where": where, "message": message, "count": count, "rows": rows}
                for (where, message), (count, rows) in sorted(
                    self.error_groups.items(), key=lambda item: -item[1][0]
                )
            ],
            "other_errors": self.other_errors,
            "unknown_sources": [
                [short_ref, count]
                for short_ref, count in self.unknown_sources.most_common(self.MAX_UNKNOWN_SOURCES)
            ],
        }

    @property
    def ok(self) -> bool:
        return not self.problems and not self.counts[RowAction.ERROR]

    def summary(self) -> str:
        counts = self.counts
        rows = "row" if self.rows_total == 1 else "rows"
        return (
            f"{self.rows_total:,} {rows}: {counts[RowAction.NEW]:,} new, "
            f"{counts[RowAction.CHANGED]:,} changed, {counts[RowAction.UNCHANGED]:,} unchanged, "
            f"{counts[RowAction.ERROR]:,} with errors"
        )


def _shown(value):
    """A value as a preview keeps it: text longer than any field may hold (so the row is in
    error anyway) is cut, so that a 15 MB cell is never stored in a preview or shown again."""
    if isinstance(value, str) and len(value) > SHOWN_VALUE_MAX:
        return f"{value[:SHOWN_VALUE_MAX]}… ({len(value):,} characters in all)"
    return value


def _chunked(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Importer:
    """Reads one file of one kind; subclasses turn rows into the services' upsert items."""

    kind: str = ""
    key_field: str = ""
    chunk_size: int = CHUNK_SIZE
    field_names: dict[str, str] = {}  # service field name → layout field name, where they differ

    def __init__(
        self,
        mapping: Mapping,
        report: ImportReport,
        *,
        pending: dict | None = None,
        source_hint: str | None = None,
        taxonomy: str = "",
    ):
        self.mapping = mapping
        # The taxonomy the import is for, if it names one: nodes files only.
        self.only_taxonomy = taxonomy
        # What a row naming an unknown source document is told to do (who reads the report
        # decides: an admin imports the documents, a contributor asks a curator).
        self.source_hint = source_hint or SOURCE_HINT
        self.table = mapping.table
        self.layout = mapping.layout
        self.report = report
        self.pending = pending or {}
        # Sheets exported by the catalog carry inert (apostrophe-prefixed) cells; JSON never.
        self.inert = self.layout.inert and self.table.is_sheet()
        self.rows_by_key: dict[object, list[int]] = defaultdict(list)
        self.new_keys: list[str] = []
        self.failed = False

    # ----------------------------------------------------------------- cells

    def raw(self, cells: list, index: int | None):
        if index is None or index >= len(cells):
            return ""
        value = cells[index]
        if self.inert and isinstance(value, str):
            value = undo_inert(value)
        return value

    def text(self, cells: list, field_name: str, plan: RowPlan | None = None) -> str:
        value = self.raw(cells, self.mapping.fields.get(field_name))
        if isinstance(value, str):
            return value
        if plan is not None:
            plan.add_error(self.mapping.label(field_name), "Expected text here.")
        return ""

    def has(self, field_name: str) -> bool:
        return field_name in self.mapping.fields

    def where(self, field_name: str) -> str:
        return self.mapping.label(self.field_names.get(field_name, field_name))

    # ----------------------------------------------------------------- passes

    def key_of(self, cells: list):
        return self.text(cells, self.key_field).strip() or None

    def scan(self) -> None:
        """First pass: every row's key, for duplicates and the row count."""
        total = 0
        for number, cells in self.table.rows():
            total += 1
            key = self.key_of(cells)
            if key is not None:
                self.rows_by_key[key].append(number)
        if not total:
            raise FileProblem("The file has a header but no rows to import.")
        self.report.rows_total = total

    def duplicate_error(self, plan: RowPlan, key, shown: str) -> None:
        rows = self.rows_by_key.get(key, [])
        if len(rows) > 1:
            others = ", ".join(str(row) for row in rows if row != plan.row)
            plan.add_error(
                self.where(self.key_field),
                f"{shown} appears more than once in the file (also in row {others}).",
            )

    def parse(self, number: int, cells: list) -> RowPlan:
        raise NotImplementedError

    def parse_row(self, number: int, cells: list) -> RowPlan:
        """:meth:`parse`, and an error for each cell that held a NUL character."""
        plan = self.parse(number, cells)
        nul = [
            CellError(self.table.column_label(index), NUL_MESSAGE)
            for index in getattr(cells, "nul_columns", ())
        ]
        if nul:
            plan.errors[:0] = nul
            plan.action = RowAction.ERROR
        return plan

    def upsert(self, items: list, *, dry_run: bool, actor, reason: str, ref: str):
        raise NotImplementedError

    def run(
        self,
        *,
        apply: bool,
        actor=None,
        reason: str = "",
        ref: str = "",
        on_chunk: Callable[[list[RowPlan]], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Plan every row; when ``apply``, write each chunk while no row has failed."""
        self.scan()
        digest = hashlib.sha256()
        done = 0
        for rows in _chunked(self.table.rows(), self.chunk_size):
            plans = [self.parse_row(number, cells) for number, cells in rows]
            for plan in plans:
                plan.row_label = self.table.row_label(plan.row)
            ready = [plan for plan in plans if plan.action != RowAction.ERROR]
            if len(ready) < len(plans):
                self.failed = True
            if ready:
                outcomes = self._upsert(
                    [plan.item for plan in ready],
                    dry_run=not apply or self.failed,
                    actor=actor,
                    reason=reason,
                    ref=ref,
                )
                for plan, outcome in zip(ready, outcomes, strict=True):
                    self._merge(plan, outcome)
            for plan in plans:
                self.report.tally(plan)
                if plan.action == RowAction.NEW:
                    self.new_keys.append(plan.key)
                digest.update(
                    json.dumps(
                        [plan.row, plan.action, plan.key, plan.changes, plan.errors],
                        ensure_ascii=False,
                    ).encode()
                )
                plan.item = plan.item if plan.action != RowAction.ERROR else None
            if on_chunk is not None:
                on_chunk(plans)
            done += len(plans)
            if progress is not None:
                progress(done, self.report.rows_total)
        self.report.fingerprint = digest.hexdigest()
        self.report.applied = apply and self.report.ok
        return self.report

    def _upsert(self, items, *, dry_run: bool, **kwargs):
        try:
            return self.upsert(items, dry_run=dry_run, **kwargs)
        except services.BulkUpsertError as error:
            self.failed = True
            return error.outcomes
        except (ValidationError, IntegrityError) as error:
            # Refused while writing (e.g. another writer changed a record meanwhile): the
            # service's transaction is rolled back; report it and plan the rest as a dry run.
            if dry_run:
                raise
            self.failed = True
            message = " ".join(getattr(error, "messages", [])) or str(error)
            self.report.problems.append(f"Writing failed, so nothing was written: {message}")
            return self.upsert(items, dry_run=True, **kwargs)

    def _merge(self, plan: RowPlan, outcome: services.UpsertOutcome) -> None:
        if outcome.action == RowAction.ERROR:
            self.failed = True
        plan.action = outcome.action
        plan.changes = [
            CellChange(
                self.mapping.heading(self.field_names.get(c.field, c.field)),
                _shown(c.old),
                _shown(c.new),
            )
            for c in outcome.changes
        ]
        plan.fields = [c.field for c in outcome.changes]
        for field_name, messages in outcome.errors.items():
            for message in messages:
                plan.add_error(self.where(field_name) if field_name else "", message)


# --------------------------------------------------------------------------- mitigations


class MitigationImporter(Importer):
    kind = ImportKind.MITIGATIONS
    key_field = "id"
    field_names = {"number": "id"}
    REASONING_MAX: int = Classification._meta.get_field("reasoning").max_length or 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sources = {s.short_ref: s for s in SourceDocument.objects.only("pk", "short_ref")}
        self.nodes = {(n.taxonomy_id, n.code): n for n in TaxonomyNode.objects.all()}
        self.taxonomies = {t.slug: t for t in Taxonomy.objects.all()}
        self.next_number = 0
        self._cells: dict[tuple[int, str], tuple] = {}

    def key_of(self, cells):
        raw = self.text(cells, "id").strip()
        return parse_public_id(raw) if raw else None

    def scan(self) -> None:
        super().scan()
        highest_in_file = max((k for k in self.rows_by_key if isinstance(k, int)), default=0)
        self.next_number = max(services.mitigation_next_number(), highest_in_file + 1)

    def parse(self, number: int, cells: list) -> RowPlan:
        plan = RowPlan(row=number)
        width = len(self.table.header)
        stray = [i for i, cell in enumerate(cells[width:], start=width) if cell not in ("", None)]
        if stray:
            plan.add_error(
                self.table.column_label(stray[0]),
                "This cell is to the right of the last column that has a heading.",
            )
        raw_id = self.text(cells, "id", plan).strip()
        public_number = parse_public_id(raw_id) if raw_id else None
        if raw_id and public_number is None:
            plan.add_error(self.where("id"), f"“{raw_id}” is not a public ID like A0983.")
        elif public_number is not None:
            self.duplicate_error(plan, public_number, format_public_id(public_number))
        else:
            public_number = self.next_number
            self.next_number += 1
        plan.key = format_public_id(public_number) if public_number else raw_id
        plan.key_given = bool(raw_id)
        data: dict[str, Any] = {"name": self.text(cells, "name", plan)}
        plan.label = data["name"][:500]
        for name in ("definition", "section_path"):
            if self.has(name):
                data[name] = self.text(cells, name, plan)
        data["source"] = self._source(cells, plan)
        expect = self._expect(cells, plan)
        placements = self._placements(cells, plan)
        if plan.action != RowAction.ERROR:
            assert public_number is not None  # an error otherwise
            plan.item = services.MitigationUpsert(
                number=public_number, data=data, placements=placements, expect=expect
            )
        return plan

    def _source(self, cells, plan):
        short_ref = self.text(cells, "source", plan).strip()
        source = self.sources.get(short_ref) or self.pending.get(short_ref)
        if not short_ref:
            plan.add_error(self.where("source"), "A source document is required.")
        elif source is None:
            plan.add_error(
                self.where("source"),
                f"No source document “{short_ref}”. {self.source_hint}",
            )
            if len(short_ref) <= SHORT_REF_MAX:
                self.report.unknown_sources[short_ref] += 1
        return source

    STATUSES = {s.value: s.value for s in MitigationStatus} | {
        s.label.casefold(): s.value for s in MitigationStatus
    }

    def _expect(self, cells, plan) -> dict:
        expect: dict[str, Any] = {}
        statuses = self.STATUSES
        if self.has("status"):
            text = self.text(cells, "status", plan).strip()
            if text:
                if text.casefold() not in statuses:
                    plan.add_error(
                        self.where("status"),
                        f"“{text}” is not a status; use {', '.join(MitigationStatus.values)}.",
                    )
                else:
                    expect["status"] = statuses[text.casefold()]
        if self.has("merged_into"):
            text = self.text(cells, "merged_into", plan).strip()
            target = parse_public_id(text) if text else None
            if text and target is None:
                plan.add_error(self.where("merged_into"), f"“{text}” is not a public ID.")
            expect["merged_into"] = target
        if self.has("status_note"):
            expect["status_note"] = self.text(cells, "status_note", plan)
        return expect

    def _node(self, taxonomy: Taxonomy, code: str, plan: RowPlan, where: str):
        node = self.nodes.get((taxonomy.pk, code))
        if node is None:
            plan.add_error(where, f"No node “{code}” in {taxonomy.name} ({taxonomy.slug}).")
        return node

    def _placements(self, cells, plan) -> dict:
        placements = {}
        if self.has("classifications"):
            value = self.raw(cells, self.mapping.fields["classifications"])
            placements.update(self._structured_placements(value, plan))
        for columns in self.mapping.taxonomies.values():
            if columns.node is None:
                continue
            taxonomy = columns.taxonomy
            where = self.table.column_label(columns.node)
            cell = str(self.raw(cells, columns.node))
            codes, nodes, errors = self._cell_nodes(taxonomy, cell)
            for message in errors:
                plan.add_error(where, message)
            reasonings: list[str | None] = [None] * len(codes)
            if columns.reasoning is not None:
                reasoning_where = self.table.column_label(columns.reasoning)
                text = str(self.raw(cells, columns.reasoning))
                if not codes:
                    if text:
                        plan.add_error(reasoning_where, "A reasoning is given but no node.")
                elif not taxonomy.multi_valued or len(codes) == 1:
                    reasonings = [text]
                elif not text:
                    reasonings = [""] * len(codes)
                elif len(text.split("; ")) == len(codes):
                    reasonings = list(text.split("; "))
                else:
                    plan.add_error(
                        reasoning_where,
                        f"{len(codes)} nodes but {len(text.split('; '))} reasonings: give one "
                        "per node, in the same order, separated by “; ”.",
                    )
                self._check_reasonings(reasonings, plan, reasoning_where)
            if not taxonomy.multi_valued and len(codes) > 1:
                plan.add_error(where, f"{taxonomy.name} allows one node per mitigation.")
            placements[taxonomy] = [
                services.BulkPlacement(node=node, reasoning=reasoning)
                for node, reasoning in zip(nodes, reasonings, strict=True)
                if node is not None
            ]
        return placements

    def _check_reasonings(self, reasonings, plan: RowPlan, where: str) -> None:
        if any(len(reasoning or "") > self.REASONING_MAX for reasoning in reasonings):
            plan.add_error(
                where, f"Keep each reasoning under {self.REASONING_MAX:,} characters (one line)."
            )

    def _cell_nodes(self, taxonomy: Taxonomy, cell: str):
        """``(codes, nodes, errors)`` for a taxonomy cell; cells repeat, so each is read once."""
        key = (taxonomy.pk, cell)
        found = self._cells.get(key)
        if found is None:
            parts = [part.strip() for part in cell.split(";") if part.strip()]
            codes = [part.split(None, 1)[0] for part in parts]
            nodes = [self.nodes.get((taxonomy.pk, code)) for code in codes]
            errors = [
                f"No node “{code}” in {taxonomy.name} ({taxonomy.slug})."
                for code, node in zip(codes, nodes, strict=True)
                if node is None
            ]
            found = self._cells[key] = (codes, nodes, errors)
            if len(self._cells) > 10_000:
                self._cells.clear()
        return found

    def _structured_placements(self, value, plan) -> dict:
        where = self.where("classifications")
        if value in ("", None):
            return {}
        if not isinstance(value, dict):
            plan.add_error(where, "Expected an object of taxonomy slugs and their nodes.")
            return {}
        placements = {}
        for slug, entries in value.items():
            taxonomy = self.taxonomies.get(slug)
            if taxonomy is None:
                plan.add_error(where, f"No taxonomy “{slug}”.")
                continue
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                plan.add_error(where, f"“{slug}” must be a list of {{code, reasoning}} objects.")
                continue
            wanted = []
            for entry in entries:
                node = self._node(taxonomy, str(entry.get("code", "")).strip(), plan, where)
                reasoning = entry.get("reasoning")
                reasoning = "" if reasoning is None else str(reasoning)
                self._check_reasonings([reasoning], plan, where)
                if node is not None:
                    wanted.append(services.BulkPlacement(node, reasoning))
            placements[taxonomy] = wanted
        return placements

    def upsert(self, items, *, dry_run, actor, reason, ref):
        return services.mitigation_bulk_upsert(
            items=items, actor=actor, reason=reason, ref=ref, dry_run=dry_run
        )


# --------------------------------------------------------------------------- documents


class DocumentImporter(Importer):
    kind = ImportKind.DOCUMENTS
    key_field = "short_ref"
    DOC_TYPES = {t.label.casefold(): t.value for t in DocType} | {t.value: t.value for t in DocType}

    def parse(self, number: int, cells: list) -> RowPlan:
        plan = RowPlan(row=number)
        short_ref = self.text(cells, "short_ref", plan).strip()
        plan.key = short_ref
        if not short_ref:
            plan.add_error(self.where("short_ref"), "A short reference is required.")
        else:
            self.duplicate_error(plan, short_ref, short_ref)
        data: dict[str, Any] = {}
        for name in ("title", "first_author", "authors", "abstract", "description"):
            if self.has(name):
                data[name] = self.text(cells, name, plan)
        for name in ("url", "doi"):
            if self.has(name):
                data[name] = self.text(cells, name, plan).strip()
        for name in ("document_id", "year"):
            if self.has(name):
                text = self.text(cells, name, plan).strip()
                if text and not text.isdigit():
                    plan.add_error(self.where(name), f"“{text}” is not a whole number.")
                data[name] = int(text) if text.isdigit() else None
        if self.has("doc_type"):
            text = self.text(cells, "doc_type", plan).strip()
            if text.casefold() in self.DOC_TYPES:
                data["doc_type"] = self.DOC_TYPES[text.casefold()]
            else:
                plan.add_error(
                    self.where("doc_type"),
                    f"“{text}” is not a document type; use one of "
                    f"{', '.join(t.label for t in DocType)}.",
                )
        plan.label = data.get("title", "")[:500]
        if plan.action != RowAction.ERROR:
            plan.item = services.SourceDocumentUpsert(short_ref=short_ref, data=data)
        return plan

    def upsert(self, items, *, dry_run, actor, reason, ref):
        return services.source_document_bulk_upsert(
            items=items, actor=actor, reason=reason, ref=ref, dry_run=dry_run
        )


# --------------------------------------------------------------------------- taxonomy nodes


class NodeImporter(Importer):
    kind = ImportKind.NODES
    key_field = "code"
    chunk_size = 10**9  # one chunk: a parent may come after its children

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.taxonomies = {t.slug: t for t in Taxonomy.objects.all()}

    def key_of(self, cells):
        taxonomy = self.text(cells, "taxonomy").strip() or self.only_taxonomy
        code = self.text(cells, "code").strip()
        return (taxonomy, code) if code else None

    def parse(self, number: int, cells: list) -> RowPlan:
        plan = RowPlan(row=number)
        slug = self.text(cells, "taxonomy", plan).strip() or self.only_taxonomy
        code = self.text(cells, "code", plan).strip()
        plan.key = f"{slug} {code}".strip()
        taxonomy = self.taxonomies.get(slug)
        if not slug:
            plan.add_error(
                self.where("taxonomy"),
                f"Name the taxonomy (its slug: {', '.join(self.taxonomies)}) in a “Taxonomy” "
                "column.",
            )
        elif self.only_taxonomy and slug != self.only_taxonomy:
            plan.add_error(
                self.where("taxonomy"),
                f"This import is for the taxonomy “{self.only_taxonomy}”, but the row names "
                f"“{slug}”.",
            )
        elif taxonomy is None:
            plan.add_error(
                self.where("taxonomy"),
                f"No taxonomy “{slug}”; use one of {', '.join(self.taxonomies)}.",
            )
        if not code:
            plan.add_error(self.where("code"), "A code is required.")
        else:
            self.duplicate_error(plan, (slug, code), plan.key)
        data: dict[str, Any] = {"name": self.text(cells, "name", plan)}
        plan.label = data["name"][:500]
        if self.has("definition"):
            data["definition"] = self.text(cells, "definition", plan)
        if self.has("parent"):
            data["parent"] = self.text(cells, "parent", plan).strip()
        if self.has("order"):
            text = self.text(cells, "order", plan).strip()
            if text and not text.isdigit():
                plan.add_error(self.where("order"), f"“{text}” is not a whole number.")
            data["order"] = int(text) if text.isdigit() else 0
        if self.has("is_catch_all"):
            text = self.text(cells, "is_catch_all", plan).strip().casefold()
            if text not in TRUE_WORDS | FALSE_WORDS:
                plan.add_error(self.where("is_catch_all"), f"“{text}” is not yes or no.")
            data["is_catch_all"] = text in TRUE_WORDS
        if plan.action != RowAction.ERROR:
            assert taxonomy is not None  # an error otherwise
            plan.item = services.TaxonomyNodeUpsert(taxonomy=taxonomy, code=code, data=data)
        return plan

    def upsert(self, items, *, dry_run, actor, reason, ref):
        return services.taxonomy_node_bulk_upsert(
            items=items, actor=actor, reason=reason, ref=ref, dry_run=dry_run
        )


IMPORTERS: dict[str, type[Importer]] = {
    ImportKind.MITIGATIONS: MitigationImporter,
    ImportKind.DOCUMENTS: DocumentImporter,
    ImportKind.NODES: NodeImporter,
}


def prepare(
    path: Path,
    *,
    file_name: str,
    kind: str | None = None,
    pending: dict | None = None,
    source_hint: str | None = None,
    taxonomy: str = "",
) -> tuple[ImportReport, Importer | None]:
    """Open ``path`` and pick its importer; the report lists the problems when there is none.
    ``taxonomy`` (a slug) limits a nodes file to that taxonomy, and is the taxonomy of rows
    that name none."""
    report = ImportReport(file_name=file_name, kind=kind or "")
    try:
        table = open_table(path, file_name=file_name)
    except FileProblem as problem:
        report.problems.append(str(problem))
        return report, None
    report.file_format = table.file_format
    mapping = detect(table, kind=kind)
    report.kind = mapping.layout.kind
    report.layout = mapping.layout.name
    report.layout_title = mapping.layout.title
    report.problems.extend(mapping.problems)
    if mapping.ignored:
        report.notices.append(
            "Ignored columns (not part of the layout): "
            + ", ".join(table.column_label(index) for index in mapping.ignored)
            + "."
        )
    if report.problems:
        return report, None
    return report, IMPORTERS[mapping.layout.kind](
        mapping, report, pending=pending, source_hint=source_hint, taxonomy=taxonomy
    )


def run(
    path: Path,
    *,
    file_name: str,
    kind: str | None = None,
    apply: bool = False,
    actor=None,
    reason: str = "",
    ref: str = "",
    pending: dict | None = None,
    on_chunk=None,
    progress=None,
    source_hint: str | None = None,
    taxonomy: str = "",
) -> tuple[ImportReport, Importer | None]:
    """Read, check and plan ``path`` (and write it, when ``apply``, inside the caller's
    transaction: the caller must roll back unless ``report.ok``). Without ``apply`` nothing
    is written: ``on_chunk`` receives every row's :class:`RowPlan` (a dry run)."""
    report, importer = prepare(
        path,
        file_name=file_name,
        kind=kind,
        pending=pending,
        source_hint=source_hint,
        taxonomy=taxonomy,
    )
    if importer is None:
        return report, None
    try:
        importer.run(
            apply=apply, actor=actor, reason=reason, ref=ref, on_chunk=on_chunk, progress=progress
        )
    except FileProblem as problem:
        report.problems.append(str(problem))
    return report, importer
