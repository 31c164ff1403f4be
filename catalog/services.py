"""Every write to the catalog, and nothing else.

Each service runs in one transaction and one :func:`~catalog.history.change_context`, so the
history rows it writes carry the actor, the reason and an optional reference (``ref``) to what
caused the change (a proposal, an import batch). Each validates with ``full_clean()`` before it
saves and raises :class:`~django.core.exceptions.ValidationError` naming the field at fault.

A write that would change nothing saves nothing, so it leaves no history row: update services
return the list of fields they changed (empty when there was nothing to do).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from .history import change_context
from .models import (
    Classification,
    Mitigation,
    MitigationStatus,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
)

MITIGATION_FIELDS = ("name", "definition", "source", "section_path")
SOURCE_FIELDS = (
    "short_ref",
    "document_id",
    "title",
    "first_author",
    "authors",
    "year",
    "abstract",
    "description",
    "url",
    "doi",
    "doc_type",
)
TAXONOMY_FIELDS = (
    "slug",
    "name",
    "version",
    "description",
    "status",
    "kind",
    "multi_valued",
    "order",
)
NODE_FIELDS = ("code", "name", "definition", "parent", "order", "is_catch_all")


@dataclass(frozen=True)
class Placement:
    """A node a mitigation is (to be) classified at, with the one-line reasoning."""

    node: TaxonomyNode
    reasoning: str = ""


@contextmanager
def _unit_of_work(*, actor, reason: str, ref: str = ""):
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Say why this change is made."})
    with transaction.atomic(), change_context(actor=actor, reason=reason.strip(), ref=ref):
        yield


def _field_value(instance: models.Model, name: str):
    field = instance._meta.get_field(name)
    return getattr(instance, field.attname)


def _normalise(instance: models.Model, name: str, value):
    """The stored form of ``value``: a primary key for a relation, a cleaned Python value else."""
    field = instance._meta.get_field(name)
    if field.is_relation:
        return value.pk if isinstance(value, models.Model) else value
    if value is None and not field.null and isinstance(field, models.CharField | models.TextField):
        return ""
    return field.to_python(value)


def _assign(instance: models.Model, data: Mapping, allowed: Iterable[str]) -> list[str]:
    """Set the fields in ``data`` on ``instance``; return the names of those that changed."""
    allowed = tuple(allowed)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({name: "This field cannot be written here." for name in unknown})
    changed = []
    for name in allowed:
        if name not in data:
            continue
        new = _normalise(instance, name, data[name])
        if _field_value(instance, name) != new:
            setattr(instance, instance._meta.get_field(name).attname, new)
            changed.append(name)
    return changed


def _save(instance: models.Model, **clean_kwargs) -> None:
    instance.full_clean(**clean_kwargs)
    instance.save()


# --------------------------------------------------------------------------- taxonomies


def taxonomy_create(*, actor, reason: str, ref: str = "", **fields) -> Taxonomy:
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        taxonomy = Taxonomy()
        _assign(taxonomy, fields, TAXONOMY_FIELDS)
        _save(taxonomy)
        return taxonomy


def taxonomy_update(*, taxonomy: Taxonomy, data: Mapping, actor, reason: str, ref: str = ""):
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        taxonomy = Taxonomy.objects.select_for_update().get(pk=taxonomy.pk)
        was_multi = taxonomy.multi_valued
        changed = _assign(taxonomy, data, TAXONOMY_FIELDS)
        if not changed:
            return taxonomy, []
        if was_multi and not taxonomy.multi_valued:
            crowded = (
                Classification.objects.filter(taxonomy=taxonomy)
                .values("mitigation")
                .annotate(n=models.Count("id"))
                .filter(n__gt=1)
            )
            if crowded.exists():
                raise ValidationError(
                    {"multi_valued": "Some mitigations carry several nodes of this taxonomy."}
                )
        _save(taxonomy)
        return taxonomy, changed


def taxonomy_node_create(
    *, taxonomy: Taxonomy, actor, reason: str, ref: str = "", **fields
) -> TaxonomyNode:
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        node = TaxonomyNode(taxonomy=taxonomy)
        _assign(node, fields, NODE_FIELDS)
        node.path = node.compute_path()
        _save(node)
        return node


def taxonomy_node_update(*, node: TaxonomyNode, data: Mapping, actor, reason: str, ref: str = ""):
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        node = TaxonomyNode.objects.select_for_update().get(pk=node.pk)
        old_path = node.path
        changed = _assign(node, data, NODE_FIELDS)
        if not changed:
            return node, []
        node.path = node.compute_path()
        _save(node)
        if node.path != old_path:
            _move_subtree(node.taxonomy_id, old_path, node.path)
        return node, changed


def _move_subtree(taxonomy_id: int, old_prefix: str, new_prefix: str) -> None:
    # ``path`` is derived and not part of the history, so descendants are rewritten in place.
    descendants = TaxonomyNode.objects.filter(
        taxonomy_id=taxonomy_id, path__startswith=old_prefix
    ).exclude(path=new_prefix)
    for descendant in descendants:
        TaxonomyNode.objects.filter(pk=descendant.pk).update(
            path=new_prefix + descendant.path[len(old_prefix) :]
        )


# --------------------------------------------------------------------------- sources


def source_document_create(*, actor, reason: str, ref: str = "", **fields) -> SourceDocument:
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        source = SourceDocument()
        _assign(source, fields, SOURCE_FIELDS)
        _save(source)
        return source


def source_document_update(
    *, source: SourceDocument, data: Mapping, actor, reason: str, ref: str = ""
):
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        source = SourceDocument.objects.select_for_update().get(pk=source.pk)
        changed = _assign(source, data, SOURCE_FIELDS)
        if changed:
            _save(source)
        return source, changed


# --------------------------------------------------------------------------- mitigations


def mitigation_next_number() -> int:
    """The next free public-ID number: one above the highest ever used."""
    highest = Mitigation.objects.aggregate(n=models.Max("number"))["n"] or 0
    return highest + 1


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
        raise ValidationError(
            f"{mitigation.public_id} was merged into {mitigation.merged_into.public_id}; "
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
        placement = wanted.pop(row.node_id, None)
        if placement is None:
            row.delete()
            changed = True
        elif _assign(row, {"reasoning": placement.reasoning}, ("reasoning",)):
            _save(row)
            changed = True
    for placement in wanted.values():
        _save(
            Classification(
                mitigation=mitigation,
                taxonomy=taxonomy,
                node=placement.node,
                reasoning=placement.reasoning,
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
