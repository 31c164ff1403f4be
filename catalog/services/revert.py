"""Undoing a whole change set (e.g. an import batch) from its history."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ..maintenance import analyze_after_commit
from ..models import (
    Classification,
    Mitigation,
    SourceDocument,
    TaxonomyNode,
)
from ._base import NODE_FIELDS, SOURCE_FIELDS, _field, _save, _unit_of_work
from .bulk._inserts import _history_kwargs
from .sources import source_document_update
from .taxonomies import taxonomy_node_update

_REVERT_CHUNK = 5000

_RESTORED_FIELDS = {
    Mitigation: (
        "name",
        "definition",
        "source",
        "section_path",
        "status",
        "status_note",
        "merged_into",
    ),
    Classification: ("node", "reasoning"),
}


def _chunks(values: list, size: int = _REVERT_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass
class _ChangeSetRows:
    """What one change set did to the records of one model, and what they were before."""

    model: Any  # a curated model class (its ``objects`` and ``history`` managers are used)
    created: list[int] = dataclass_field(default_factory=list)  # ids it created
    # id → the prior version: a simple-history row (``.instance`` rebuilds the record)
    existed: dict[int, Any] = dataclass_field(default_factory=dict)
    conflicts: list[str] = dataclass_field(default_factory=list)


def _change_set_rows(model, ref: str) -> _ChangeSetRows:
    history = model.history
    result = _ChangeSetRows(model)
    first: dict[int, tuple[int, str]] = {}
    last: dict[int, int] = {}
    for object_id, history_id, history_type in (
        history.filter(history_ref=ref)
        .order_by("history_id")
        .values_list("id", "history_id", "history_type")
    ):
        first.setdefault(object_id, (history_id, history_type))
        last[object_id] = history_id
    ids = list(first)
    prior_ids = []
    for chunk in _chunks(ids):
        latest = history.filter(id__in=chunk).values("id").annotate(n=models.Max("history_id"))
        for row in latest:
            if row["n"] != last[row["id"]]:
                result.conflicts.append(f"{model._meta.verbose_name} {row['id']}")
        before = (
            history.filter(id__in=chunk)
            .exclude(history_ref=ref)
            .values("id")
            .annotate(n=models.Max("history_id"))
        )
        prior = {row["id"]: row["n"] for row in before}
        for object_id in chunk:
            if first[object_id][1] == "+":
                result.created.append(object_id)
            elif prior.get(object_id) and prior[object_id] < first[object_id][0]:
                prior_ids.append(prior[object_id])
    for chunk in _chunks(prior_ids):
        for version in history.filter(history_id__in=chunk):
            result.existed[version.id] = version
    return result


def _restore_bulk(rows: _ChangeSetRows, history: dict, now) -> int:
    """Give records of ``rows.model`` back their prior versions (bulk, for many records)."""
    model = rows.model
    names = _RESTORED_FIELDS[model]
    attnames = [_field(model, name).attname for name in names]
    restored, recreated = [], []
    ids = list(rows.existed)
    for chunk in _chunks(ids):
        current = model.objects.in_bulk(chunk)
        for object_id in chunk:
            prior = rows.existed[object_id]
            obj = current.get(object_id)
            if obj is None:
                recreated.append(prior.instance)
                continue
            if any(getattr(obj, a) != getattr(prior, a) for a in attnames):
                for attname in attnames:
                    setattr(obj, attname, getattr(prior, attname))
                obj.updated_at = now
                restored.append(obj)
    for chunk in _chunks(restored):
        bulk_update_with_history(chunk, model, [*names, "updated_at"], **history)
    if recreated:
        bulk_create_with_history(recreated, model, **history)
    return len(restored) + len(recreated)


def _delete_created(rows: _ChangeSetRows) -> int:
    """Delete what the change set created; each deletion writes its own history row."""
    deleted = 0
    queryset = rows.model.objects.all()
    if rows.model is TaxonomyNode:
        queryset = queryset.order_by("-path")  # children before their parents
    for chunk in _chunks(rows.created):
        for obj in queryset.filter(pk__in=chunk):
            try:
                obj.delete()
            except models.ProtectedError as error:
                referrer = next(iter(error.protected_objects), None)
                raise ValidationError(
                    f"{obj} cannot be removed: {referrer} refers to it, and was not made by "
                    "the same change."
                ) from error
            deleted += 1
    return deleted


def change_set_revert(*, ref: str, actor, reason: str, revert_ref: str = "") -> dict[str, int]:
    """Undo every change whose history rows carry ``ref`` (e.g. a whole import batch).

    Each record the change set changed gets back the version it had before, as a new change
    (so the revert is itself in the history, under ``revert_ref``); what it deleted is
    re-created and what it created is deleted again. A deleted record keeps its history, so
    its public ID is never given out again. Refuses, naming the records, when any of them was
    changed after the change set: those later changes must be undone first. Returns counts.
    """
    if not ref:
        raise ValidationError({"ref": "Say which change set to revert."})
    with _unit_of_work(actor=actor, reason=reason, ref=revert_ref):
        rows = {
            model: _change_set_rows(model, ref)
            for model in (Classification, Mitigation, SourceDocument, TaxonomyNode)
        }
        conflicts = [name for found in rows.values() for name in found.conflicts]
        if conflicts:
            shown = ", ".join(conflicts[:10]) + (" …" if len(conflicts) > 10 else "")
            raise ValidationError(
                f"{len(conflicts)} records changed again after {ref}: {shown}. "
                "Undo those later changes first."
            )
        history = _history_kwargs(actor, reason, revert_ref)
        now = timezone.now()
        counts = {
            "classifications removed": _delete_created(rows[Classification]),
            "mitigations removed": _delete_created(rows[Mitigation]),
            "mitigations restored": _restore_bulk(rows[Mitigation], history, now),
            "classifications restored": _restore_bulk(rows[Classification], history, now),
        }
        restored = 0
        for source_id, prior in rows[SourceDocument].existed.items():
            data = {name: getattr(prior, name) for name in SOURCE_FIELDS}
            source = SourceDocument.objects.filter(pk=source_id).first()
            if source is None:
                _save(prior.instance)
            else:
                source_document_update(
                    source=source, data=data, actor=actor, reason=reason, ref=revert_ref
                )
            restored += 1
        counts["source documents restored"] = restored
        counts["source documents removed"] = _delete_created(rows[SourceDocument])
        restored = 0
        for node_id, prior in rows[TaxonomyNode].existed.items():
            data = {name: getattr(prior, name) for name in NODE_FIELDS if name != "parent"}
            data["parent"] = prior.parent_id
            node = TaxonomyNode.objects.filter(pk=node_id).first()
            if node is None:
                node = prior.instance
                node.path = node.compute_path()
                _save(node)
            else:
                taxonomy_node_update(
                    node=node, data=data, actor=actor, reason=reason, ref=revert_ref
                )
            restored += 1
        counts["taxonomy nodes restored"] = restored
        counts["taxonomy nodes removed"] = _delete_created(rows[TaxonomyNode])
        analyze_after_commit(
            model
            for changed in (Classification, Mitigation, SourceDocument, TaxonomyNode)
            for model in (changed, changed.history.model)
        )
        return {name: count for name, count in counts.items() if count}
