"""Mitigations in bulk: a planner that compares plain rows with the wanted state, then one
writer for the whole plan (bulk updates, ``COPY`` inserts, history rows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from ...maintenance import analyze_after_commit
from ...models import (
    Classification,
    Mitigation,
    MitigationStatus,
    RowAction,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
    format_public_id,
)
from .._base import MITIGATION_FIELDS, _unit_of_work
from ._inserts import _history_kwargs, _insert_with_history
from ._outcomes import BulkUpsertError, FieldChange, UpsertOutcome

Row = dict[str, Any]  # a record as ``values()`` reads it

# What a bulk write changes: the planner's statistics of these are refreshed after it.
_ANALYZED = (
    Mitigation,
    Mitigation.history.model,
    Classification,
    Classification.history.model,
)


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
        placed: dict[tuple[int, int], list[Row]] = {}
        if existing and taxonomy_ids:
            self.nodes = TaxonomyNode.objects.filter(taxonomy_id__in=taxonomy_ids).in_bulk()
            rows = Classification.objects.filter(
                mitigation_id__in=[row["id"] for row in existing.values()],
                taxonomy_id__in=taxonomy_ids,
            ).values("id", "mitigation_id", "taxonomy_id", "node_id", "reasoning")
            for row in sorted(rows, key=lambda r: self.nodes[r["node_id"]].path):
                placed.setdefault((row["mitigation_id"], row["taxonomy_id"]), []).append(
                    cast(Row, row)
                )
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
            assert isinstance(field, models.Field)
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
        changes: list[FieldChange] = []
        creates: list[tuple[Row, Taxonomy, TaxonomyNode, str]] = []
        updates: list[tuple[Row, TaxonomyNode, str]] = []
        deletes: list[Row] = []
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
            held = locked_rows.get(row["id"])
            if held is None or (held.node_id, held.reasoning) != (
                row["node_id"],
                row["reasoning"],
            ):
                raise self._stale("A classification in this file")
        for row in self.classification_deletes:
            # Few (a classification taken away); each delete writes its history row through
            # the change context of the surrounding unit of work.
            locked_rows[row["id"]].delete()
        if self.classification_updates:
            classifications = []
            for row, node, reasoning in self.classification_updates:
                classification = locked_rows[row["id"]]
                classification.node, classification.reasoning = node, reasoning
                classification.updated_at = now
                classifications.append(classification)
            bulk_update_with_history(
                classifications, Classification, ["node", "reasoning", "updated_at"], **history
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
        analyze_after_commit(_ANALYZED)
        return outcomes
