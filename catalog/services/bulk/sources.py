"""Source documents in bulk (tens to hundreds of rows: checked together, written through the
per-record services)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.core.exceptions import ValidationError

from ...models import RowAction, SourceDocument
from .._base import SOURCE_FIELDS, _assign, _unit_of_work
from ..sources import source_document_create, source_document_update
from ._display import _changes
from ._outcomes import BulkUpsertError, FieldChange, UpsertOutcome


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
