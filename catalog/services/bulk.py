"""Bulk writes for imports: thousands of records in a few queries, history included."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.core.exceptions import ValidationError
from django.db import connections, models, router
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ..models import (
    Classification,
    Mitigation,
    MitigationStatus,
    RowAction,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
    format_public_id,
)
from ._base import (
    MITIGATION_FIELDS,
    NODE_FIELDS,
    SOURCE_FIELDS,
    _assign,
    _field_value,
    _normalise,
    _unit_of_work,
)
from .sources import source_document_create, source_document_update
from .taxonomies import taxonomy_node_create, taxonomy_node_update

#
# Imports write thousands of records at once. These services do it in a few queries per call
# (one to read the current records, bulk inserts and updates to write them) while keeping the
# rules of the single-record services: each created or changed record gets exactly one history
# row carrying actor, reason and ref (simple-history's bulk_create_with_history /
# bulk_update_with_history), an unchanged record is not written, and a call either writes
# everything or nothing. With ``dry_run=True`` they write nothing and report what they would
# do, which is what an import preview shows and what a proposal could be made from.

BULK_BATCH_SIZE = 500


@dataclass(frozen=True)
class FieldChange:
    """One field of one record, as text: ``field`` is a model field name, or for a
    classification the taxonomy slug (the node) or ``"<slug> reasoning"``."""

    field: str
    old: str
    new: str


@dataclass
class UpsertOutcome:
    """What a bulk upsert did (or, in a dry run, would do) with one item. ``instance`` is the
    record where the service has one at hand (documents and nodes; None for mitigations,
    which are planned from plain rows)."""

    key: str
    action: str = RowAction.UNCHANGED
    changes: list[FieldChange] = dataclass_field(default_factory=list)
    errors: dict[str, list[str]] = dataclass_field(default_factory=dict)
    instance: models.Model | None = None

    def add_error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)
        self.action = RowAction.ERROR

    def add_validation_error(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            for message in messages:
                self.add_error("" if field == "__all__" else field, message)


class BulkUpsertError(ValidationError):
    """A bulk upsert found errors and wrote nothing; ``outcomes`` says which items and why."""

    def __init__(self, outcomes: list[UpsertOutcome]):
        self.outcomes = outcomes
        failed = sum(1 for outcome in outcomes if outcome.action == RowAction.ERROR)
        super().__init__(f"{failed} of {len(outcomes)} records have errors; nothing was written.")


def _history_kwargs(actor, reason: str, ref: str) -> dict:
    return {
        "default_user": actor if getattr(actor, "is_authenticated", False) else None,
        "default_change_reason": reason.strip(),
        "custom_historical_attrs": {"history_ref": ref},
        "batch_size": BULK_BATCH_SIZE,
    }


def _insert_with_history(model, rows: list[dict], history: dict) -> None:
    """Insert ``rows`` (dicts of field attnames; each gets its ``id``) and one "+" history
    row for each: simple-history's ``bulk_create_with_history``, or on PostgreSQL the same rows
    through ``COPY``, ids drawn from the table's sequence first. COPY fires the same triggers
    and checks the same constraints as any insert, but spares building SQL and quoting every
    value in Python, which at 100,000 rows costs far more than the database's own work.
    """
    if not rows:
        return
    now = timezone.now()
    opts = model._meta
    fields = [f for f in model.history.model.tracked_fields]
    for row in rows:
        for field in fields:
            if field.attname in row or field.attname == "id":
                continue
            if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
                row[field.attname] = now
            else:
                row[field.attname] = field.get_default()
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        objs = [model(**row) for row in rows]
        bulk_create_with_history(objs, model, **history)
        for row, obj in zip(rows, objs, strict=True):
            row["id"] = obj.pk
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(rows)],
        )
        for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            row["id"] = pk
    columns = [opts.get_field(f.name) for f in fields]
    _copy(connection, opts.db_table, columns, ([row[f.attname] for f in columns] for row in rows))
    history_model = model.history.model
    user = history["default_user"]
    stamp = {
        "history_date": now,
        "history_type": "+",
        "history_user_id": user.pk if user is not None else None,
        "history_change_reason": history["default_change_reason"],
        **history["custom_historical_attrs"],
    }
    columns = [f for f in history_model._meta.concrete_fields if f.attname != "history_id"]
    _copy(
        connection,
        history_model._meta.db_table,
        columns,
        (
            [stamp[f.attname] if f.attname in stamp else row[f.attname] for f in columns]
            for row in rows
        ),
    )


def _copy(connection, table: str, fields, rows) -> None:
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(f.column) for f in fields)
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _display(instance: models.Model, name: str, value) -> str:
    """A stored value as a person reads it: a label for a choice, a key for a relation."""
    if value is None or value == "":
        return ""
    field = instance._meta.get_field(name)
    if isinstance(value, models.Model):
        return getattr(value, "short_ref", None) or getattr(value, "code", None) or str(value)
    if field.is_relation:
        related = field.related_model._default_manager.filter(pk=value).first()
        return _display(instance, name, related) if related else str(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _changes(instance: models.Model, data: Mapping, allowed: Iterable[str]) -> list[FieldChange]:
    """What :func:`_assign` would change on ``instance``, without changing it."""
    allowed = tuple(allowed)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({name: "This field cannot be written here." for name in unknown})
    changes = []
    for name in allowed:
        if name not in data:
            continue
        new = data[name]
        new_stored = new.pk if isinstance(new, models.Model) else _normalise(instance, name, new)
        old = _field_value(instance, name)
        if old != new_stored or (new_stored is None and isinstance(new, models.Model)):
            shown = new if isinstance(new, models.Model) else new_stored
            changes.append(
                FieldChange(name, _display(instance, name, old), _display(instance, name, shown))
            )
    return changes


# ----- mitigations


@dataclass(frozen=True)
class BulkPlacement:
    """A node to place a mitigation at; ``reasoning=None`` keeps the reasoning it has there."""

    node: TaxonomyNode
    reasoning: str | None = None


@dataclass
class MitigationUpsert:
    """The wanted state of one mitigation, matched by ``number``.

    ``data``: any of :data:`MITIGATION_FIELDS` (``source`` a SourceDocument; in a dry run it
    may be one not saved yet). ``placements``: per taxonomy, the whole classification wanted
    in it; taxonomies left out are not touched. ``expect``: any of ``status``,
    ``merged_into`` (a number or None) and ``status_note`` as the caller believes them to be;
    a bulk upsert never changes a status, so a difference is an error.
    """

    number: int
    data: dict = dataclass_field(default_factory=dict)
    placements: dict = dataclass_field(default_factory=dict)
    expect: dict = dataclass_field(default_factory=dict)


class _MitigationBulk:
    """Plans a bulk upsert from plain rows (``values()``), then writes it.

    Planning reads the current records without locking them: at 100,000 rows, model
    instances and row locks on records that turn out unchanged would cost more than the rest
    of the import. Writing then locks just the records it changes and checks that each is
    still as planned; if another writer got there first the whole call fails, so nothing is
    written on the strength of a stale comparison.
    """

    VALIDATED = ("name", "definition", "section_path")
    CURRENT = (
        "id",
        "number",
        "name",
        "definition",
        "source_id",
        "section_path",
        "status",
        "status_note",
        "merged_into_id",
    )

    def __init__(self, items: list[MitigationUpsert]):
        self.items = items
        self.creates: list[dict] = []  # rows of new records (see _plan_new)
        self.updates: list[tuple[dict, dict]] = []  # (current row, changed attnames → values)
        # (the mitigation: a row of self.creates or a current row, taxonomy, node, reasoning)
        self.new_placements: list[tuple[dict, Taxonomy, TaxonomyNode, str]] = []
        self.classification_updates: list[tuple[dict, TaxonomyNode, str]] = []
        self.classification_deletes: list[dict] = []
        self.touched: set[int] = set()
        self.nodes: dict[int, TaxonomyNode] = {}

    def _current(self):
        numbers = [item.number for item in self.items]
        existing = {
            row["number"]: row
            for row in Mitigation.objects.filter(number__in=numbers).values(
                *self.CURRENT, "merged_into__number"
            )
        }
        taxonomy_ids = {t.pk for item in self.items for t in item.placements}
        placed: dict[tuple[int, int], list[dict]] = {}
        if existing and taxonomy_ids:
            self.nodes = TaxonomyNode.objects.filter(taxonomy_id__in=taxonomy_ids).in_bulk()
            rows = Classification.objects.filter(
                mitigation_id__in=[row["id"] for row in existing.values()],
                taxonomy_id__in=taxonomy_ids,
            ).values("id", "mitigation_id", "taxonomy_id", "node_id", "reasoning")
            for row in sorted(rows, key=lambda r: self.nodes[r["node_id"]].path):
                placed.setdefault((row["mitigation_id"], row["taxonomy_id"]), []).append(row)
        return existing, placed

    def plan(self) -> list[UpsertOutcome]:
        existing, placed = self._current()
        sources = dict(SourceDocument.objects.values_list("pk", "short_ref"))
        seen: set[int] = set()
        outcomes = []
        for item in self.items:
            outcome = UpsertOutcome(key=format_public_id(item.number))
            outcomes.append(outcome)
            if item.number in seen:
                outcome.add_error("number", f"{outcome.key} is given more than once.")
                continue
            seen.add(item.number)
            unknown = sorted(set(item.data) - set(MITIGATION_FIELDS))
            if unknown:
                raise ValidationError(
                    {name: "This field cannot be written here." for name in unknown}
                )
            current = existing.get(item.number)
            if current is None:
                self._plan_new(item, outcome)
            else:
                self._plan_existing(item, current, placed, sources, outcome)
        return outcomes

    def _check_placements(self, item, outcome) -> None:
        for taxonomy, placements in item.placements.items():
            nodes = [p.node for p in placements]
            for node in nodes:
                if node.taxonomy_id != taxonomy.pk:
                    outcome.add_error(taxonomy.slug, f"{node.label} is not in {taxonomy.name}.")
            if len({node.pk for node in nodes}) != len(nodes):
                outcome.add_error(taxonomy.slug, "The same node is given twice.")
            if not taxonomy.multi_valued and len(nodes) > 1:
                outcome.add_error(taxonomy.slug, f"{taxonomy.name} allows one node per mitigation.")

    def _check_values(self, values: dict, outcome, names) -> None:
        """The field validation of ``clean_fields`` (lengths, blanks) for ``names`` only."""
        for name in names:
            if name not in self.VALIDATED:
                continue
            field = Mitigation._meta.get_field(name)
            try:
                values[name] = field.clean(values[name], None)
            except ValidationError as error:
                for message in error.messages:
                    outcome.add_error(name, message)

    def _plan_new(self, item, outcome) -> None:
        row = {
            "number": item.number,
            "status": MitigationStatus.ACTIVE,
            "status_note": "",
            "merged_into_id": None,
            "name": "",
            "definition": "",
            "section_path": "",
            "source_id": None,
        }
        outcome.action = RowAction.NEW
        if item.number < 1:
            outcome.add_error("number", "A public ID needs a number of 1 or more.")
        for name, value in item.data.items():
            if name == "source":
                row["source_id"] = value.pk if value is not None else None
                shown = value.short_ref if value is not None else ""
            else:
                row[name] = shown = "" if value is None else value
            if shown:
                outcome.changes.append(FieldChange(name, "", str(shown)))
        if item.data.get("source") is None:
            outcome.add_error("source", "A source document is required.")
        if not item.data.get("name"):
            outcome.add_error("name", "A name is required.")
        if item.expect.get("status") not in (None, "", MitigationStatus.ACTIVE):
            outcome.add_error(
                "status", "A new record starts active; an import does not retire or merge."
            )
        if item.expect.get("merged_into"):
            outcome.add_error("merged_into", "A new record cannot be merged into another.")
        self._check_values(row, outcome, [n for n in item.data if n in self.VALIDATED and row[n]])
        self._check_placements(item, outcome)
        placements = []
        for taxonomy, wanted in item.placements.items():
            for placement in wanted:
                reasoning = placement.reasoning or ""
                placements.append((row, taxonomy, placement.node, reasoning))
                outcome.changes.append(FieldChange(taxonomy.slug, "", placement.node.label))
                if reasoning:
                    outcome.changes.append(FieldChange(taxonomy.slug + " reasoning", "", reasoning))
        if outcome.action != RowAction.ERROR:
            self.creates.append(row)
            self.new_placements.extend(placements)

    def _plan_existing(self, item, current, placed, sources, outcome) -> None:
        self._check_status(item, current, outcome)
        data = item.data
        changes, values = [], {}
        for name in MITIGATION_FIELDS:
            if name not in data:
                continue
            if name == "source":
                # Compared by key, shown by short reference, without a query per row.
                source = data["source"]
                if source is None:
                    outcome.add_error("source", "A source document is required.")
                elif source.pk is None or source.pk != current["source_id"]:
                    old = sources.get(current["source_id"], "")
                    changes.append(FieldChange("source", old, source.short_ref))
                    values["source_id"] = source.pk
                continue
            new = "" if data[name] is None else str(data[name])
            if new != current[name]:
                changes.append(FieldChange(name, current[name], new))
                values[name] = new
        self._check_placements(item, outcome)
        if outcome.action == RowAction.ERROR:
            return
        plans = [
            self._plan_placements(current, taxonomy, wanted, placed)
            for taxonomy, wanted in item.placements.items()
        ]
        placement_changes = [change for plan in plans for change in plan[0]]
        outcome.changes = changes + placement_changes
        if not outcome.changes:
            return
        if current["status"] == MitigationStatus.MERGED:
            target = format_public_id(current["merged_into__number"])
            outcome.add_error(
                "",
                f"{format_public_id(current['number'])} was merged into {target}; "
                "change that record instead.",
            )
            return
        outcome.action = RowAction.CHANGED
        self._check_values(values, outcome, list(values))
        if outcome.action == RowAction.ERROR:
            return
        if values:
            self.updates.append((current, values))
        elif placement_changes:
            self.touched.add(current["id"])
        for _, creates, updates, deletes in plans:
            self.new_placements.extend(creates)
            self.classification_updates.extend(updates)
            self.classification_deletes.extend(deletes)

    def _check_status(self, item, current, outcome) -> None:
        public_id = format_public_id(current["number"])
        state = {
            "status": current["status"],
            "merged_into": current["merged_into__number"],
            "status_note": current["status_note"],
        }
        for name in ("status", "merged_into", "status_note"):
            if name in item.expect and (item.expect[name] or None) != (state[name] or None):
                label = MitigationStatus(current["status"]).label.lower()
                into = state["merged_into"]
                outcome.add_error(
                    name,
                    f"{public_id} is {label}"
                    + (f" (into {format_public_id(into)})" if into else "")
                    + "; an import does not change a record's status. Retire, merge or "
                    "restore it in the catalog instead.",
                )
                return

    def _plan_placements(self, current, taxonomy, wanted, placed):
        """(changes, creates, updates, deletes) that make ``wanted`` the classification."""
        rows = placed.get((current["id"], taxonomy.pk), [])
        by_node = {row["node_id"]: row for row in rows}
        changes, creates, updates, deletes = [], [], [], []
        reasoning_label = taxonomy.slug + " reasoning"

        def label(row) -> str:
            return self.nodes[row["node_id"]].label

        def reasoning_for(placement, row):
            if placement.reasoning is not None:
                return placement.reasoning
            return (
                row["reasoning"] if row is not None and row["node_id"] == placement.node.pk else ""
            )

        if not taxonomy.multi_valued:
            row = rows[0] if rows else None
            placement = wanted[0] if wanted else None
            if placement is None:
                if row is not None:
                    deletes.append(row)
                    changes.append(FieldChange(taxonomy.slug, label(row), ""))
                return changes, creates, updates, deletes
            reasoning = reasoning_for(placement, row)
            if row is None:
                creates.append((current, taxonomy, placement.node, reasoning))
                changes.append(FieldChange(taxonomy.slug, "", placement.node.label))
                if reasoning:
                    changes.append(FieldChange(reasoning_label, "", reasoning))
                return changes, creates, updates, deletes
            if row["node_id"] != placement.node.pk:
                changes.append(FieldChange(taxonomy.slug, label(row), placement.node.label))
            if row["reasoning"] != reasoning:
                changes.append(FieldChange(reasoning_label, row["reasoning"], reasoning))
            if changes:
                updates.append((row, placement.node, reasoning))
            return changes, creates, updates, deletes

        old_labels = [label(row) for row in rows]
        old_reasonings = [row["reasoning"] for row in rows]
        new_labels, new_reasonings = [], []
        for placement in sorted(wanted, key=lambda p: p.node.path):
            row = by_node.pop(placement.node.pk, None)
            reasoning = reasoning_for(placement, row)
            new_labels.append(placement.node.label)
            new_reasonings.append(reasoning)
            if row is None:
                creates.append((current, taxonomy, placement.node, reasoning))
            elif row["reasoning"] != reasoning:
                updates.append((row, placement.node, reasoning))
        deletes.extend(by_node.values())
        if old_labels != new_labels:
            changes.append(FieldChange(taxonomy.slug, "; ".join(old_labels), "; ".join(new_labels)))
        if old_reasonings != new_reasonings and any(old_reasonings + new_reasonings):
            changes.append(
                FieldChange(reasoning_label, "; ".join(old_reasonings), "; ".join(new_reasonings))
            )
        return changes, creates, updates, deletes

    @staticmethod
    def _stale(public_id: str):
        return ValidationError(
            f"{public_id} was changed by someone else while this import ran; nothing was "
            "written. Run the import again."
        )

    def write(self, history: dict) -> None:
        now = timezone.now()
        if self.updates:
            locked = (
                Mitigation.objects.select_for_update()
                .filter(pk__in=[current["id"] for current, _ in self.updates])
                .in_bulk()
            )
            objs, fields = [], {"updated_at"}
            for current, values in self.updates:
                obj = locked.get(current["id"])
                if obj is None or any(getattr(obj, name) != current[name] for name in self.CURRENT):
                    raise self._stale(format_public_id(current["number"]))
                for attname, value in values.items():
                    setattr(obj, attname, value)
                    fields.add(Mitigation._meta.get_field(attname).name)
                obj.updated_at = now
                objs.append(obj)
            bulk_update_with_history(objs, Mitigation, sorted(fields), **history)
        if self.creates:
            _insert_with_history(Mitigation, self.creates, history)
        changed_rows = [row for row, _, _ in self.classification_updates]
        locked_rows = Classification.objects.select_for_update().in_bulk(
            [row["id"] for row in changed_rows + self.classification_deletes]
        )
        for row in changed_rows + self.classification_deletes:
            obj = locked_rows.get(row["id"])
            if obj is None or (obj.node_id, obj.reasoning) != (row["node_id"], row["reasoning"]):
                raise self._stale("A classification in this file")
        for row in self.classification_deletes:
            # Few (a classification taken away); each delete writes its history row through
            # the change context of the surrounding unit of work.
            locked_rows[row["id"]].delete()
        if self.classification_updates:
            objs = []
            for row, node, reasoning in self.classification_updates:
                obj = locked_rows[row["id"]]
                obj.node, obj.reasoning, obj.updated_at = node, reasoning, now
                objs.append(obj)
            bulk_update_with_history(
                objs, Classification, ["node", "reasoning", "updated_at"], **history
            )
        if self.new_placements:
            _insert_with_history(
                Classification,
                [
                    {
                        "mitigation_id": mitigation["id"],
                        "taxonomy_id": taxonomy.pk,
                        "node_id": node.pk,
                        "reasoning": reasoning,
                    }
                    for mitigation, taxonomy, node, reasoning in self.new_placements
                ],
                history,
            )
        self.touched.update(row["mitigation_id"] for row in changed_rows)
        if self.touched:
            Mitigation.objects.filter(pk__in=self.touched).update(updated_at=now)


def mitigation_bulk_upsert(
    *, items: Iterable[MitigationUpsert], actor, reason: str, ref: str = "", dry_run: bool = False
) -> list[UpsertOutcome]:
    """Create or update many mitigations and their classifications in one transaction.

    Items are matched by number: a new number creates an active record with that public ID,
    a known one updates the record where the item differs from it. A merged record cannot
    be changed, and no status is changed (see :class:`MitigationUpsert`). Returns one
    outcome per item, in order. If any item has an error nothing is written and
    :class:`BulkUpsertError` carries the outcomes; with ``dry_run`` nothing is written
    either way and the outcomes say what would happen.
    """
    items = list(items)
    if dry_run:
        return _MitigationBulk(items).plan()
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        bulk = _MitigationBulk(items)
        outcomes = bulk.plan()
        if any(outcome.action == RowAction.ERROR for outcome in outcomes):
            raise BulkUpsertError(outcomes)
        bulk.write(_history_kwargs(actor, reason, ref))
        return outcomes


# ----- source documents and taxonomy nodes (tens to hundreds of rows: per-record services)


@dataclass
class SourceDocumentUpsert:
    """The wanted state of one source document, matched by ``short_ref``; ``data`` holds any
    of :data:`SOURCE_FIELDS` but ``short_ref``."""

    short_ref: str
    data: dict = dataclass_field(default_factory=dict)


def source_document_bulk_upsert(
    *,
    items: Iterable[SourceDocumentUpsert],
    actor,
    reason: str,
    ref: str = "",
    dry_run: bool = False,
) -> list[UpsertOutcome]:
    """Create or update many source documents; same contract as :func:`mitigation_bulk_upsert`."""
    items = list(items)
    existing = {
        d.short_ref: d
        for d in SourceDocument.objects.filter(short_ref__in=[i.short_ref for i in items])
    }
    wanted_ids = [i.data["document_id"] for i in items if i.data.get("document_id")]
    id_owner = dict(
        SourceDocument.objects.filter(document_id__in=wanted_ids).values_list(
            "document_id", "short_ref"
        )
    )
    outcomes, seen = [], set()
    for item in items:
        outcome = UpsertOutcome(key=item.short_ref)
        outcomes.append(outcome)
        if item.short_ref in seen:
            outcome.add_error("short_ref", f"{item.short_ref} is given more than once.")
            continue
        seen.add(item.short_ref)
        document = existing.get(item.short_ref)
        if "short_ref" in item.data:
            raise ValidationError({"short_ref": "The short reference is the key, not data."})
        if document is None:
            candidate = SourceDocument(short_ref=item.short_ref)
            _assign(candidate, item.data, SOURCE_FIELDS)
            outcome.action = RowAction.NEW
            outcome.changes = _changes(SourceDocument(), item.data, SOURCE_FIELDS)
            outcome.changes.insert(0, FieldChange("short_ref", "", item.short_ref))
        else:
            candidate = copy.copy(document)
            outcome.changes = _changes(document, item.data, SOURCE_FIELDS)
            _assign(candidate, item.data, SOURCE_FIELDS)
            if outcome.changes:
                outcome.action = RowAction.CHANGED
        outcome.instance = document or candidate
        if outcome.action == RowAction.UNCHANGED:
            continue
        try:
            candidate.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            outcome.add_validation_error(error)
        document_id = candidate.document_id
        if document_id is not None:
            owner = id_owner.get(document_id)
            if owner is not None and owner != item.short_ref:
                outcome.add_error("document_id", f"Document ID {document_id} belongs to {owner}.")
            id_owner[document_id] = item.short_ref
    if dry_run:
        return outcomes
    if any(outcome.action == RowAction.ERROR for outcome in outcomes):
        raise BulkUpsertError(outcomes)
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        for item, outcome in zip(items, outcomes, strict=True):
            if outcome.action == RowAction.NEW:
                outcome.instance = source_document_create(
                    actor=actor, reason=reason, ref=ref, short_ref=item.short_ref, **item.data
                )
            elif outcome.action == RowAction.CHANGED:
                outcome.instance, _ = source_document_update(
                    source=existing[item.short_ref],
                    data=item.data,
                    actor=actor,
                    reason=reason,
                    ref=ref,
                )
    return outcomes


@dataclass
class TaxonomyNodeUpsert:
    """The wanted state of one node, matched by taxonomy and ``code``. ``data`` holds any of
    ``name``, ``definition``, ``order``, ``is_catch_all``, and ``parent`` as the parent's
    code (empty for a top-level node); the parent may be another item of the same call."""

    taxonomy: Taxonomy
    code: str
    data: dict = dataclass_field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.taxonomy.slug} {self.code}"


def taxonomy_node_bulk_upsert(
    *,
    items: Iterable[TaxonomyNodeUpsert],
    actor,
    reason: str,
    ref: str = "",
    dry_run: bool = False,
) -> list[UpsertOutcome]:
    """Create or update many taxonomy nodes, parents before children; same contract as
    :func:`mitigation_bulk_upsert`."""
    items = list(items)
    allowed = ("name", "definition", "order", "is_catch_all", "parent")
    existing = {
        (n.taxonomy_id, n.code): n
        for n in TaxonomyNode.objects.filter(taxonomy__in={i.taxonomy.pk for i in items})
    }
    by_key = {}
    outcomes = []
    for item in items:
        outcome = UpsertOutcome(key=item.key)
        outcomes.append(outcome)
        unknown = sorted(set(item.data) - set(allowed))
        if unknown:
            raise ValidationError({name: "This field cannot be written here." for name in unknown})
        if (item.taxonomy.pk, item.code) in by_key:
            outcome.add_error("code", f"{item.key} is given more than once.")
            continue
        by_key[(item.taxonomy.pk, item.code)] = (item, outcome)

    codes = {node.pk: node.code for node in existing.values()}

    def final_parent(key):
        entry = by_key.get(key)
        if entry is not None and "parent" in entry[0].data:
            code = entry[0].data["parent"] or None
        else:
            node = existing.get(key)
            code = codes.get(node.parent_id) if node is not None else None
        return None if code is None else (key[0], code)

    depth: dict[tuple[int, str], int] = {}
    for key, (item, outcome) in by_key.items():
        parent = final_parent(key)
        if parent is not None and parent not in by_key and parent not in existing:
            outcome.add_error("parent", f"No node {parent[1]} in {item.taxonomy.name}.")
            continue
        chain, cursor = [], key
        while cursor is not None and cursor not in depth:
            if cursor in chain:
                outcome.add_error("parent", f"The parents of {item.key} form a loop.")
                break
            chain.append(cursor)
            cursor = final_parent(cursor)
            if cursor is not None and cursor not in by_key and cursor not in existing:
                cursor = None
        else:
            base = depth[cursor] if cursor is not None else -1
            for offset, link in enumerate(reversed(chain), start=1):
                depth[link] = base + offset

    for key, (item, outcome) in by_key.items():
        if outcome.action == RowAction.ERROR:
            continue
        node = existing.get(key)
        data = dict(item.data)
        if "parent" in data:
            code = data["parent"] or None
            data["parent"] = (
                None
                if code is None
                else existing.get((item.taxonomy.pk, code))
                or TaxonomyNode(taxonomy=item.taxonomy, code=code)
            )
        candidate = (
            copy.copy(node) if node else TaxonomyNode(taxonomy=item.taxonomy, code=item.code)
        )
        if node is None:
            outcome.action = RowAction.NEW
            outcome.changes = [
                FieldChange("code", "", item.code),
                *_changes(TaxonomyNode(), data, NODE_FIELDS),
            ]
        else:
            outcome.changes = _changes(node, data, NODE_FIELDS)
            if outcome.changes:
                outcome.action = RowAction.CHANGED
        outcome.instance = node or candidate
        _assign(candidate, {k: v for k, v in data.items() if k != "parent"}, NODE_FIELDS)
        try:
            candidate.clean_fields(exclude=["parent", "taxonomy", "path"])
        except ValidationError as error:
            outcome.add_validation_error(error)
    if dry_run:
        return outcomes
    if any(outcome.action == RowAction.ERROR for outcome in outcomes):
        raise BulkUpsertError(outcomes)
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        saved = dict(existing)
        for key in sorted(by_key, key=lambda k: depth.get(k, 0)):
            item, outcome = by_key[key]
            if outcome.action == RowAction.UNCHANGED:
                continue
            data = dict(item.data)
            if "parent" in data:
                data["parent"] = (
                    saved[(item.taxonomy.pk, data["parent"])] if data["parent"] else None
                )
            if outcome.action == RowAction.NEW:
                saved[key] = taxonomy_node_create(
                    taxonomy=item.taxonomy,
                    actor=actor,
                    reason=reason,
                    ref=ref,
                    code=item.code,
                    **data,
                )
            else:
                saved[key], _ = taxonomy_node_update(
                    node=saved[key], data=data, actor=actor, reason=reason, ref=ref
                )
            outcome.instance = saved[key]
    return outcomes
