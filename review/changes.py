"""What each kind of proposal changes: validation, snapshots, conflicts, diffs, and applying it.

A proposal stores its change in ``Proposal.changes`` in stored form (primary keys for
relations), so that it survives unchanged until a curator decides it:

- ``new``: ``{"name", "definition", "source", "section_path", "placements": [[node, reasoning]]}``
  and optionally ``"number"``: the public ID's number to give the record (a spreadsheet row's
  own ID, e.g. MIT's ``A0983``); without it the record takes the next free number when applied
- ``edit``: any of ``{"name", "definition", "source", "section_path"}`` (only the changed ones)
- ``reclassify``: ``{"placements": [[node, reasoning], ...]}``, in ``Proposal.taxonomy``
- ``retire``: ``{}`` (the rationale is the reason)
- ``merge``: ``{"into": mitigation}``

Each proposal "touches" some keys of its record: a field name, ``classification:<taxonomy>``,
``status``, or ``into:status`` (the merge target's). ``base`` keeps their values when the
proposal was made; approval compares them with the record as it is now.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from catalog import services
from catalog.models import (
    Classification,
    Mitigation,
    MitigationStatus,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
    format_public_id,
)

from .models import ProposalKind

EDITABLE_FIELDS = services.MITIGATION_FIELDS  # name, definition, source, section_path
FIELD_LABELS = {
    "name": "Name",
    "definition": "Definition",
    "source": "Source document",
    "section_path": "Section in source",
    "status": "Status",
    "into:status": "Status of the record to merge into",
    "number": "Public ID",
}
EVERYTHING = "*"  # retirements and merges touch the whole record


@dataclass(frozen=True)
class FieldConflict:
    key: str
    label: str
    base: str
    current: str
    proposed: str


@dataclass(frozen=True)
class DiffRow:
    key: str
    label: str
    current: str
    proposed: str

    @property
    def changed(self) -> bool:
        return self.current != self.proposed


# --------------------------------------------------------------------------- keys


def classification_key(taxonomy_id: int) -> str:
    return f"classification:{taxonomy_id}"


def touched_keys(kind: str, changes: dict, taxonomy_id: int | None) -> set[str]:
    """The parts of the record a proposal changes (for flags on overlapping proposals)."""
    if kind == ProposalKind.EDIT:
        return {key for key in changes if key in EDITABLE_FIELDS}
    if kind == ProposalKind.RECLASSIFY:
        return {classification_key(taxonomy_id)}
    if kind in (ProposalKind.RETIRE, ProposalKind.MERGE):
        return {EVERYTHING}
    return set()


def overlap(mine: set[str], theirs: set[str]) -> set[str]:
    if not mine or not theirs:
        return set()
    if EVERYTHING in mine or EVERYTHING in theirs:
        return (mine | theirs) - {EVERYTHING} or {EVERYTHING}
    return mine & theirs


def base_keys(kind: str, changes: dict, taxonomy_id: int | None) -> list[str]:
    """The keys whose values ``base`` remembers: what is touched, and the record's status."""
    if kind == ProposalKind.NEW:
        return []
    keys = sorted(touched_keys(kind, changes, taxonomy_id) - {EVERYTHING})
    keys.append("status")
    if kind == ProposalKind.MERGE:
        keys.append("into:status")
    return keys


# --------------------------------------------------------------------------- snapshots


def _placements_value(rows) -> list[list]:
    return sorted([[node_id, reasoning or ""] for node_id, reasoning in rows])


def snapshot(mitigation: Mitigation, keys: list[str], changes: dict) -> dict:
    """The current stored values of ``keys`` on ``mitigation`` (a query per classification)."""
    values = {}
    for key in keys:
        if key in EDITABLE_FIELDS:
            field = Mitigation._meta.get_field(key)
            values[key] = getattr(mitigation, field.attname)
        elif key == "status":
            values[key] = mitigation.status
        elif key == "into:status":
            into = Mitigation.objects.filter(pk=changes.get("into")).first()
            values[key] = into.status if into else None
        elif key.startswith("classification:"):
            taxonomy_id = int(key.split(":", 1)[1])
            rows = Classification.objects.filter(
                mitigation=mitigation, taxonomy_id=taxonomy_id
            ).values_list("node_id", "reasoning")
            values[key] = _placements_value(rows)
    return values


def proposed_value(kind: str, changes: dict, key: str):
    """What the proposal would make ``key``; ``None`` where it does not set that key."""
    if key in EDITABLE_FIELDS:
        return changes.get(key)
    if key.startswith("classification:"):
        return _placements_value(changes.get("placements", []))
    if key == "status":
        return {ProposalKind.RETIRE: "retired", ProposalKind.MERGE: "merged"}.get(kind)
    return None


# --------------------------------------------------------------------------- display


class Labels:
    """Turns stored values into words, loading the sources and nodes it needs at once."""

    def __init__(self, values):
        source_ids, node_ids, mitigation_ids = set(), set(), set()
        for key, value in values:
            if key == "source" and value:
                source_ids.add(value)
            elif key.startswith("classification:") or key == "placements":
                node_ids.update(node for node, _ in value or [])
            elif key == "into" and value:
                mitigation_ids.add(value)
        self.sources = (
            {s.pk: s for s in SourceDocument.objects.filter(pk__in=source_ids)}
            if source_ids
            else {}
        )
        self.nodes = (
            {
                n.pk: n
                for n in TaxonomyNode.objects.select_related("taxonomy").filter(pk__in=node_ids)
            }
            if node_ids
            else {}
        )
        self.mitigations = (
            {m.pk: m for m in Mitigation.objects.filter(pk__in=mitigation_ids)}
            if mitigation_ids
            else {}
        )

    def text(self, key: str, value) -> str:
        if value is None:
            return "—"
        if key == "source":
            source = self.sources.get(value)
            return f"{source.short_ref}: {source.title}" if source else f"unknown source {value}"
        if key.startswith("classification:") or key == "placements":
            if not value:
                return "(not classified)"
            parts = []
            for node_id, reasoning in value:
                node = self.nodes.get(node_id)
                label = node.label if node else f"unknown node {node_id}"
                parts.append(f"{label} (why: {reasoning})" if reasoning else label)
            return "; ".join(parts)
        if key == "into":
            target = self.mitigations.get(value)
            return str(target) if target else f"unknown record {value}"
        if key in ("status", "into:status"):
            return MitigationStatus(value).label if value in MitigationStatus.values else value
        if key == "number":
            return format_public_id(value)
        return str(value) if value != "" else "(empty)"


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def key_label(key: str, taxonomies: dict[int, Taxonomy] | None = None) -> str:
    if key.startswith("classification:"):
        taxonomy_id = int(key.split(":", 1)[1])
        taxonomy = (taxonomies or {}).get(taxonomy_id) or Taxonomy.objects.get(pk=taxonomy_id)
        return f"Classification in {taxonomy.name}"
    return FIELD_LABELS.get(key, key)


def diff(proposal, mitigation: Mitigation | None) -> list[DiffRow]:
    """Field by field: the record as it is now against what the proposal would make it."""
    kind, changes = proposal.kind, proposal.changes
    if kind == ProposalKind.NEW:
        keys = ["name", "definition", "source", "section_path"]
        if changes.get("number") is not None:
            keys.insert(0, "number")
        pairs = [(key, None, changes.get(key)) for key in keys]
        by_taxonomy: dict[int, list] = {}
        nodes = {
            n.pk: n
            for n in TaxonomyNode.objects.filter(
                pk__in=[node for node, _ in changes.get("placements", [])]
            )
        }
        for node_id, reasoning in changes.get("placements", []):
            taxonomy_id = nodes[node_id].taxonomy_id if node_id in nodes else 0
            by_taxonomy.setdefault(taxonomy_id, []).append([node_id, reasoning])
        for taxonomy_id, placements in by_taxonomy.items():
            pairs.append((classification_key(taxonomy_id), None, placements))
    else:
        keys = [k for k in base_keys(kind, changes, proposal.taxonomy_id) if k != "into:status"]
        if kind in (ProposalKind.RETIRE, ProposalKind.MERGE):
            keys = ["status"]
        current = snapshot(mitigation, keys, changes)
        pairs = [(key, current[key], proposed_value(kind, changes, key)) for key in keys]
        pairs = [(k, c, p) for k, c, p in pairs if p is not None]
        if kind == ProposalKind.MERGE:
            current_into = mitigation.merged_into_id
            pairs.append(("into", current_into, changes.get("into")))
    labels = Labels([(k, c) for k, c, _ in pairs] + [(k, p) for k, _, p in pairs])
    taxonomies = {n.taxonomy_id: n.taxonomy for n in labels.nodes.values()}
    rows = []
    for key, current, proposed in pairs:
        label = "Merged into" if key == "into" else key_label(key, taxonomies)
        rows.append(
            DiffRow(
                key=key,
                label=label,
                current="(new record)" if kind == ProposalKind.NEW else labels.text(key, current),
                proposed=labels.text(key, proposed),
            )
        )
    return rows


# --------------------------------------------------------------------------- conflicts


def conflicts(proposal, mitigation: Mitigation | None) -> list[FieldConflict]:
    """The touched keys that changed on the record since the proposal's base was taken.

    A key whose current value already equals the proposed one is no conflict: applying the
    proposal leaves it as it is.
    """
    if proposal.kind == ProposalKind.NEW:
        return _number_conflicts(proposal.changes)
    if mitigation is None:
        return []
    keys = list(proposal.base)
    current = snapshot(mitigation, keys, proposal.changes)
    found = []
    for key in keys:
        base_value = proposal.base[key]
        now = current.get(key)
        if now == base_value:
            continue
        proposed = proposed_value(proposal.kind, proposal.changes, key)
        if proposed is not None and now == proposed:
            continue
        found.append((key, base_value, now, proposed))
    if not found:
        return []
    labels = Labels([(k, v) for k, b, n, p in found for v in (b, n, p)])
    taxonomies = {n.taxonomy_id: n.taxonomy for n in labels.nodes.values()}
    return [
        FieldConflict(
            key=key,
            label=key_label(key, taxonomies),
            base=labels.text(key, base_value),
            current=labels.text(key, now),
            proposed=labels.text(key, proposed) if proposed is not None else "(unchanged)",
        )
        for key, base_value, now, proposed in found
    ]


def _number_conflicts(changes: dict) -> list[FieldConflict]:
    """A new record's chosen public ID taken by another record since it was proposed."""
    number = changes.get("number")
    if number is None:
        return []
    taken = Mitigation.objects.filter(number=number).first()
    if taken is None:
        return []
    return [
        FieldConflict(
            key="number",
            label=FIELD_LABELS["number"],
            base="(free)",
            current=f"taken by {taken}",
            proposed=format_public_id(number),
        )
    ]


# --------------------------------------------------------------------------- validation


def _validate_number(changes: dict) -> None:
    if "number" not in changes:
        return
    number = changes["number"]
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 9_999_999:
        raise ValidationError({"number": "A public ID is A followed by up to seven digits."})
    if Mitigation.objects.filter(number=number).exists():
        raise ValidationError({"number": f"{format_public_id(number)} is already taken."})


def _require_not_merged(mitigation: Mitigation) -> None:
    if mitigation.status == MitigationStatus.MERGED:
        into = mitigation.merged_into
        raise ValidationError(
            f"{mitigation.public_id} was merged into {into.public_id}; "
            f"propose changes to {into.public_id} instead."
        )


def _validate_placements(placements: list, taxonomy: Taxonomy | None, field: str) -> None:
    node_ids = [node for node, _ in placements]
    nodes = {
        n.pk: n for n in TaxonomyNode.objects.select_related("taxonomy").filter(pk__in=node_ids)
    }
    missing = [node for node in node_ids if node not in nodes]
    if missing:
        raise ValidationError({field: "That node does not exist."})
    if len(set(node_ids)) != len(node_ids):
        raise ValidationError({field: "The same node is given twice."})
    per_taxonomy: dict[int, int] = {}
    for node in nodes.values():
        if taxonomy is not None and node.taxonomy_id != taxonomy.pk:
            raise ValidationError({field: f"{node.label} is not a node of {taxonomy.name}."})
        per_taxonomy[node.taxonomy_id] = per_taxonomy.get(node.taxonomy_id, 0) + 1
        if per_taxonomy[node.taxonomy_id] > 1 and not node.taxonomy.multi_valued:
            raise ValidationError({field: f"{node.taxonomy.name} allows one node per mitigation."})
    for _, reasoning in placements:
        if len(reasoning or "") > 1000:
            raise ValidationError({"reasoning": "Keep the reasoning under 1000 characters."})


def _validate_text(changes: dict) -> None:
    """The proposed name, definition and section as the record's own fields validate them
    (lengths, NUL characters), so that a proposal never holds what could not be applied."""
    errors = {}
    for name in ("name", "definition", "section_path"):
        value = changes.get(name)
        if isinstance(value, str) and value:
            try:
                Mitigation._meta.get_field(name).run_validators(value)
            except ValidationError as error:
                errors[name] = error.messages
    if errors:
        raise ValidationError(errors)


def validate(
    *, kind: str, mitigation: Mitigation | None, taxonomy: Taxonomy | None, changes: dict
) -> None:
    """Refuse a change that could not be applied, naming the field at fault."""
    _validate_text(changes)
    if kind == ProposalKind.NEW:
        if not (changes.get("name") or "").strip():
            raise ValidationError({"name": "Give the mitigation a name."})
        if not SourceDocument.objects.filter(pk=changes.get("source")).exists():
            raise ValidationError({"source": "Choose the source document."})
        _validate_placements(changes.get("placements", []), None, "placements")
        _validate_number(changes)
        return
    if mitigation is None:
        raise ValidationError("Name the mitigation the proposal changes.")
    _require_not_merged(mitigation)
    if kind == ProposalKind.EDIT:
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise ValidationError({name: "This field cannot be proposed." for name in unknown})
        if "name" in changes and not (changes["name"] or "").strip():
            raise ValidationError({"name": "A mitigation needs a name."})
        if "source" in changes and not SourceDocument.objects.filter(pk=changes["source"]).exists():
            raise ValidationError({"source": "Choose the source document."})
        current = snapshot(mitigation, list(changes), changes)
        if not changes or all(current[key] == value for key, value in changes.items()):
            raise ValidationError("Change at least one field: this is what the record says now.")
    elif kind == ProposalKind.RECLASSIFY:
        if taxonomy is None:
            raise ValidationError({"taxonomy": "Choose the taxonomy."})
        placements = changes.get("placements", [])
        _validate_placements(placements, taxonomy, "node")
        key = classification_key(taxonomy.pk)
        if snapshot(mitigation, [key], changes)[key] == _placements_value(placements):
            raise ValidationError({"node": "That is already its classification."})
    elif kind == ProposalKind.RETIRE:
        if mitigation.status != MitigationStatus.ACTIVE:
            raise ValidationError(f"{mitigation.public_id} is already {mitigation.status}.")
    elif kind == ProposalKind.MERGE:
        if mitigation.status != MitigationStatus.ACTIVE:
            raise ValidationError(f"{mitigation.public_id} is not active.")
        into = Mitigation.objects.filter(pk=changes.get("into")).first()
        if into is None:
            raise ValidationError({"into": "No such mitigation."})
        if into.pk == mitigation.pk:
            raise ValidationError({"into": "A record cannot be merged into itself."})
        if into.status != MitigationStatus.ACTIVE:
            raise ValidationError(
                {"into": f"{into.public_id} is {into.status}; merge into an active record."}
            )
    else:
        raise ValidationError({"kind": f"Unknown kind of proposal: {kind}."})


# --------------------------------------------------------------------------- applying


def _placements(pairs) -> list[services.Placement]:
    nodes = TaxonomyNode.objects.in_bulk([node for node, _ in pairs])
    return [services.Placement(node=nodes[node], reasoning=reasoning) for node, reasoning in pairs]


def apply(proposal, *, actor, reason: str, ref: str) -> Mitigation:
    """Make the change through :mod:`catalog.services`; returns the record it shaped."""
    kind, changes = proposal.kind, proposal.changes
    if kind == ProposalKind.NEW:
        return services.mitigation_create(
            name=changes["name"],
            definition=changes.get("definition", ""),
            source=SourceDocument.objects.get(pk=changes["source"]),
            section_path=changes.get("section_path", ""),
            placements=_placements(changes.get("placements", [])),
            number=changes.get("number"),
            actor=actor,
            reason=reason,
            ref=ref,
        )
    mitigation = proposal.mitigation
    if kind == ProposalKind.EDIT:
        mitigation, _ = services.mitigation_update(
            mitigation=mitigation, data=changes, actor=actor, reason=reason, ref=ref
        )
    elif kind == ProposalKind.RECLASSIFY:
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=proposal.taxonomy,
            placements=_placements(changes.get("placements", [])),
            actor=actor,
            reason=reason,
            ref=ref,
        )
    elif kind == ProposalKind.RETIRE:
        services.mitigation_retire(mitigation=mitigation, actor=actor, reason=reason, ref=ref)
    elif kind == ProposalKind.MERGE:
        services.mitigation_merge(
            mitigation=mitigation,
            into=Mitigation.objects.get(pk=changes["into"]),
            actor=actor,
            reason=reason,
            ref=ref,
        )
    return mitigation
