"""Taxonomy nodes in bulk: parents before children, a parent possibly another row of the same
file; checked together, written through the per-record services."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.core.exceptions import ValidationError

from ...models import RowAction, Taxonomy, TaxonomyNode
from .._base import NODE_FIELDS, _assign, _unit_of_work
from ..taxonomies import taxonomy_node_create, taxonomy_node_update
from ._display import _changes
from ._outcomes import BulkUpsertError, FieldChange, UpsertOutcome


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


NodeKey = tuple[int, str]  # (taxonomy id, code)
_WRITABLE = ("name", "definition", "order", "is_catch_all", "parent")


def taxonomy_node_bulk_upsert(
    *,
    items: Iterable[TaxonomyNodeUpsert],
    actor,
    reason: str,
    ref: str = "",
    dry_run: bool = False,
) -> list[UpsertOutcome]:
    """Create or update many taxonomy nodes, parents before children; same contract as
    :func:`~catalog.services.mitigation_bulk_upsert`."""
    items = list(items)
    existing = {
        (n.taxonomy_id, n.code): n
        for n in TaxonomyNode.objects.filter(taxonomy__in={i.taxonomy.pk for i in items})
    }
    outcomes, by_key = _index(items)
    depth = _depths(by_key, existing)
    for item, outcome in by_key.values():
        if outcome.action != RowAction.ERROR:
            _plan(item, outcome, existing)
    if dry_run:
        return outcomes
    if any(outcome.action == RowAction.ERROR for outcome in outcomes):
        raise BulkUpsertError(outcomes)
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        _write(by_key, existing, depth, actor=actor, reason=reason, ref=ref)
    return outcomes


def _index(
    items: list[TaxonomyNodeUpsert],
) -> tuple[list[UpsertOutcome], dict[NodeKey, tuple[TaxonomyNodeUpsert, UpsertOutcome]]]:
    """One outcome per item, and the items by key (a key given twice is an error)."""
    by_key: dict[NodeKey, tuple[TaxonomyNodeUpsert, UpsertOutcome]] = {}
    outcomes = []
    for item in items:
        outcome = UpsertOutcome(key=item.key)
        outcomes.append(outcome)
        unknown = sorted(set(item.data) - set(_WRITABLE))
        if unknown:
            raise ValidationError({name: "This field cannot be written here." for name in unknown})
        if (item.taxonomy.pk, item.code) in by_key:
            outcome.add_error("code", f"{item.key} is given more than once.")
            continue
        by_key[(item.taxonomy.pk, item.code)] = (item, outcome)
    return outcomes, by_key


def _depths(by_key, existing: dict[NodeKey, TaxonomyNode]) -> dict[NodeKey, int]:
    """How deep each item's node will sit once written (so parents are written first); an
    unknown parent or a loop of parents is an error on the item."""
    codes = {node.pk: node.code for node in existing.values()}

    def final_parent(key):
        entry = by_key.get(key)
        if entry is not None and "parent" in entry[0].data:
            code = entry[0].data["parent"] or None
        else:
            node = existing.get(key)
            code = codes.get(node.parent_id) if node is not None and node.parent_id else None
        return None if code is None else (key[0], code)

    depth: dict[NodeKey, int] = {}
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
    return depth


def _plan(
    item: TaxonomyNodeUpsert, outcome: UpsertOutcome, existing: dict[NodeKey, TaxonomyNode]
) -> None:
    """What writing ``item`` would change, and whether its values are valid, on ``outcome``."""
    node = existing.get((item.taxonomy.pk, item.code))
    data = dict(item.data)
    if "parent" in data:
        code = data["parent"] or None
        data["parent"] = (
            None
            if code is None
            else existing.get((item.taxonomy.pk, code))
            or TaxonomyNode(taxonomy=item.taxonomy, code=code)
        )
    candidate = copy.copy(node) if node else TaxonomyNode(taxonomy=item.taxonomy, code=item.code)
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


def _write(by_key, existing: dict[NodeKey, TaxonomyNode], depth, *, actor, reason, ref) -> None:
    """Create and update the planned nodes through the per-record services, parents first."""
    saved = dict(existing)
    for key in sorted(by_key, key=lambda k: depth.get(k, 0)):
        item, outcome = by_key[key]
        if outcome.action == RowAction.UNCHANGED:
            continue
        data = dict(item.data)
        if "parent" in data:
            data["parent"] = saved[(item.taxonomy.pk, data["parent"])] if data["parent"] else None
        if outcome.action == RowAction.NEW:
            saved[key] = taxonomy_node_create(
                taxonomy=item.taxonomy, actor=actor, reason=reason, ref=ref, code=item.code, **data
            )
        else:
            saved[key], _ = taxonomy_node_update(
                node=saved[key], data=data, actor=actor, reason=reason, ref=ref
            )
        outcome.instance = saved[key]
