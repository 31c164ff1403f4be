"""Writes to single mitigations: create, update, reclassify, retire, merge, restore."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models
from django.utils import timezone

from ..models import (
    Classification,
    Mitigation,
    MitigationStatus,
    SourceDocument,
    Taxonomy,
)
from ._base import MITIGATION_FIELDS, Placement, _assign, _save, _unit_of_work


def mitigation_next_number() -> int:
    """The next free public-ID number: one above the highest ever used.

    "Ever" includes the history: a record deleted by reverting the import that created it
    keeps its number out of circulation.
    """
    highest = Mitigation.objects.aggregate(n=models.Max("number"))["n"] or 0
    in_history = Mitigation.history.aggregate(n=models.Max("number"))["n"] or 0
    return max(highest, in_history) + 1


def mitigation_create(
    *,
    name: str,
    source: SourceDocument,
    definition: str = "",
    section_path: str = "",
    placements: Iterable[Placement] = (),
    number: int | None = None,
    actor,
    reason: str,
    ref: str = "",
) -> Mitigation:
    """Create an active mitigation with its classifications; ``number`` defaults to the next."""
    placements = list(placements)
    attempts = 1 if number is not None else 3
    for attempt in range(attempts):
        try:
            with _unit_of_work(actor=actor, reason=reason, ref=ref):
                mitigation = Mitigation(number=number or mitigation_next_number())
                _assign(
                    mitigation,
                    {
                        "name": name,
                        "definition": definition,
                        "source": source,
                        "section_path": section_path,
                    },
                    MITIGATION_FIELDS,
                )
                if number is not None and Mitigation.objects.filter(number=number).exists():
                    raise ValidationError({"number": f"{mitigation.public_id} is already taken."})
                _save(mitigation)
                by_taxonomy: dict[int, list[Placement]] = {}
                for placement in placements:
                    by_taxonomy.setdefault(placement.node.taxonomy_id, []).append(placement)
                for taxonomy_id, group in by_taxonomy.items():
                    _set_placements(mitigation, Taxonomy.objects.get(pk=taxonomy_id), group)
                return mitigation
        except IntegrityError:
            # Another writer took the same next number between our read and our insert.
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _locked(mitigation: Mitigation) -> Mitigation:
    return (
        Mitigation.objects.select_for_update(of=("self",))
        .select_related("source", "merged_into")
        .get(pk=mitigation.pk)
    )


def _require_editable(mitigation: Mitigation) -> None:
    if mitigation.status == MitigationStatus.MERGED:
        into = mitigation.merged_into
        raise ValidationError(
            f"{mitigation.public_id} was merged into {into.public_id if into else '?'}; "
            "edit that record instead."
        )


def mitigation_update(
    *, mitigation: Mitigation, data: Mapping, actor, reason: str, ref: str = ""
) -> tuple[Mitigation, list[str]]:
    """Change any of name, definition, source and section path."""
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        mitigation = _locked(mitigation)
        _require_editable(mitigation)
        changed = _assign(mitigation, data, MITIGATION_FIELDS)
        if changed:
            _save(mitigation)
        return mitigation, changed


def mitigation_reclassify(
    *,
    mitigation: Mitigation,
    taxonomy: Taxonomy,
    placements: Iterable[Placement],
    actor,
    reason: str,
    ref: str = "",
) -> bool:
    """Make ``placements`` the mitigation's whole classification in ``taxonomy``.

    An empty list removes the classification. Returns whether anything changed.
    """
    placements = list(placements)
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        mitigation = _locked(mitigation)
        _require_editable(mitigation)
        changed = _set_placements(mitigation, taxonomy, placements)
        if changed:
            _touch(mitigation)
        return changed


def _touch(mitigation: Mitigation) -> None:
    # ``updated_at`` is derived ("last changed, classifications included") and not history.
    Mitigation.objects.filter(pk=mitigation.pk).update(updated_at=timezone.now())


def _set_placements(
    mitigation: Mitigation, taxonomy: Taxonomy, placements: list[Placement]
) -> bool:
    for placement in placements:
        if placement.node.taxonomy_id != taxonomy.pk:
            raise ValidationError(
                {"node": f"{placement.node.label} is not a node of {taxonomy.name}."}
            )
    nodes = [p.node.pk for p in placements]
    if len(set(nodes)) != len(nodes):
        raise ValidationError({"node": "The same node is given twice."})
    if not taxonomy.multi_valued and len(placements) > 1:
        raise ValidationError({"node": f"{taxonomy.name} allows one node per mitigation."})

    current = list(
        Classification.objects.filter(mitigation=mitigation, taxonomy=taxonomy).order_by("pk")
    )
    changed = False
    if not taxonomy.multi_valued:
        # A single-valued classification is one row that moves, so its history reads as
        # "node: 2.3 → 3.1" rather than a deletion and an unrelated creation.
        row = current[0] if current else None
        if not placements:
            if row is not None:
                row.delete()
                changed = True
            return changed
        placement = placements[0]
        if row is None:
            row = Classification(
                mitigation=mitigation,
                taxonomy=taxonomy,
                node=placement.node,
                reasoning=placement.reasoning,
            )
        elif not _assign(
            row, {"node": placement.node, "reasoning": placement.reasoning}, ("node", "reasoning")
        ):
            return False
        _save(row)
        return True

    wanted = {p.node.pk: p for p in placements}
    for row in current:
        kept = wanted.pop(row.node_id, None)
        if kept is None:
            row.delete()
            changed = True
        elif _assign(row, {"reasoning": kept.reasoning}, ("reasoning",)):
            _save(row)
            changed = True
    for added in wanted.values():
        _save(
            Classification(
                mitigation=mitigation,
                taxonomy=taxonomy,
                node=added.node,
                reasoning=added.reasoning,
            )
        )
        changed = True
    return changed


def mitigation_retire(*, mitigation: Mitigation, actor, reason: str, ref: str = "") -> Mitigation:
    """Withdraw a record from the catalog; it keeps its page and its history."""
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        mitigation = _locked(mitigation)
        if mitigation.status != MitigationStatus.ACTIVE:
            raise ValidationError(f"{mitigation.public_id} is not active.")
        _repoint_merged_records(mitigation, None, reason)
        mitigation.status = MitigationStatus.RETIRED
        mitigation.status_note = reason.strip()
        _save(mitigation)
        return mitigation


def mitigation_merge(
    *, mitigation: Mitigation, into: Mitigation, actor, reason: str, ref: str = ""
) -> Mitigation:
    """Mark ``mitigation`` a duplicate of ``into``; its links resolve to ``into`` from now on."""
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        if mitigation.pk == into.pk:
            raise ValidationError({"into": "A record cannot be merged into itself."})
        mitigation = _locked(mitigation)
        into = _locked(into)
        if mitigation.status != MitigationStatus.ACTIVE:
            raise ValidationError(f"{mitigation.public_id} is not active.")
        if into.status != MitigationStatus.ACTIVE:
            raise ValidationError({"into": f"{into.public_id} is not active."})
        _repoint_merged_records(mitigation, into, reason)
        mitigation.status = MitigationStatus.MERGED
        mitigation.merged_into = into
        mitigation.status_note = reason.strip()
        _save(mitigation)
        return mitigation


def _repoint_merged_records(old: Mitigation, new: Mitigation | None, reason: str) -> None:
    """Records merged into ``old`` follow it to ``new`` (or are retired with it)."""
    for merged in Mitigation.objects.select_for_update().filter(merged_into=old):
        if new is None:
            merged.status = MitigationStatus.RETIRED
            merged.merged_into = None
        else:
            merged.merged_into = new
        merged.status_note = f"{merged.status_note}\n{old.public_id}: {reason.strip()}".strip()
        _save(merged)


def mitigation_restore(*, mitigation: Mitigation, actor, reason: str, ref: str = "") -> Mitigation:
    """Bring a retired or merged record back into the active catalog."""
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        mitigation = _locked(mitigation)
        if mitigation.status == MitigationStatus.ACTIVE:
            raise ValidationError(f"{mitigation.public_id} is already active.")
        mitigation.status = MitigationStatus.ACTIVE
        mitigation.merged_into = None
        mitigation.status_note = ""
        _save(mitigation)
        return mitigation
