"""What each kind of proposal changes: validation, snapshots, conflicts, diffs, and applying it.

A proposal stores its change in ``Proposal.changes`` in stored form (primary keys for
relations), so that it survives unchanged until a curator decides it. Its shape per kind is a
``TypedDict`` below (:data:`ProposalChanges`), and a key outside it is refused:

- ``new``: :class:`NewMitigationChanges`: name, definition, source, section_path, placements
  (``[[node, reasoning], ...]``) and optionally ``number``: the public ID's number to give the
  record (a spreadsheet row's own ID, e.g. MIT's ``A0983``); without it the record takes the
  next free number when applied
- ``edit``: :class:`EditChanges`: any of name, definition, source, section_path (only the
  changed ones)
- ``reclassify``: :class:`ReclassifyChanges`: placements, in ``Proposal.taxonomy``
- ``retire``: :class:`RetireChanges`: nothing (the rationale is the reason)
- ``merge``: :class:`MergeChanges`: ``into``, the record to keep
- ``new_source``: :class:`NewSourceChanges`: a source document's short reference, title,
  authors, year, URL, DOI, type and abstract; applied, it creates the document
  (``Proposal.source_document``), not a mitigation

Each proposal "touches" some keys of its record: a field name, ``classification:<taxonomy>``,
``status``, or ``into:status`` (the merge target's). ``base`` keeps their values when the
proposal was made; approval compares them with the record as it is now.

Each kind is one class below (:class:`KindSpec` and its subclasses), registered in
:data:`KINDS`; the module's functions (``validate``, ``touched_keys``, ``diff``, ``conflicts``,
``apply``, …) ask the proposal's kind. To add a kind of proposal: a value in
:class:`~review.models.ProposalKind`, a :class:`KindSpec` subclass here, a form in
:func:`review.forms.form_for`, a template ``review/proposal_form_<kind>.html`` and a view to
start it from (see CONTRIBUTING.md; a test checks that every kind has all of them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NotRequired, TypedDict

from django.core.exceptions import ValidationError
from django.db import models

from catalog import services
from catalog.models import (
    Classification,
    DocType,
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

# --------------------------------------------------------------------------- the shapes

# A classification as a proposal stores it: [node id, one-line reasoning] (a JSON list).
PlacementPair = list[Any]


class NewMitigationChanges(TypedDict):
    name: str
    definition: str
    source: int  # a SourceDocument's id
    section_path: str
    placements: list[PlacementPair]
    number: NotRequired[int]  # the public ID's number; the next free one without it


class EditChanges(TypedDict, total=False):
    name: str
    definition: str
    source: int
    section_path: str


class ReclassifyChanges(TypedDict):
    placements: list[PlacementPair]


class RetireChanges(TypedDict):
    pass


class MergeChanges(TypedDict):
    into: int  # the id of the Mitigation to keep


class NewSourceChanges(TypedDict):
    short_ref: str
    title: str
    authors: str  # one per line or separated by semicolons; the first is the first author
    year: int | None
    url: str
    doi: str
    doc_type: str  # a catalog.models.DocType value
    abstract: str


ProposalChanges = (
    NewMitigationChanges
    | EditChanges
    | ReclassifyChanges
    | RetireChanges
    | MergeChanges
    | NewSourceChanges
)
# Any kind's changes, as the functions below read them.
AnyChanges = Mapping[str, Any]
# What ``Proposal.base`` holds: the touched keys' stored values when the proposal was made.
Snapshot = dict[str, Any]


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


def touched_keys(kind: str, changes: AnyChanges, taxonomy_id: int | None) -> set[str]:
    """The parts of the record a proposal changes (for flags on overlapping proposals)."""
    return KINDS[kind].touched_keys(changes, taxonomy_id)


def overlap(mine: set[str], theirs: set[str]) -> set[str]:
    if not mine or not theirs:
        return set()
    if EVERYTHING in mine or EVERYTHING in theirs:
        return (mine | theirs) - {EVERYTHING} or {EVERYTHING}
    return mine & theirs


def base_keys(kind: str, changes: AnyChanges, taxonomy_id: int | None) -> list[str]:
    """The keys whose values ``base`` remembers: what is touched, and the record's status."""
    return KINDS[kind].base_keys(changes, taxonomy_id)


# --------------------------------------------------------------------------- snapshots


def _placements_value(rows) -> list[list]:
    return sorted([[node_id, reasoning or ""] for node_id, reasoning in rows])


def snapshot(mitigation: Mitigation, keys: list[str], changes: AnyChanges) -> Snapshot:
    """The current stored values of ``keys`` on ``mitigation`` (a query per classification)."""
    values: Snapshot = {}
    for key in keys:
        if key in EDITABLE_FIELDS:
            field = Mitigation._meta.get_field(key)
            assert isinstance(field, models.Field)
            values[key] = getattr(mitigation, field.attname)
        elif key == "status":
            values[key] = mitigation.status
        elif key == "into:status":
            into_id = changes.get("into")
            into = Mitigation.objects.filter(pk=into_id).first() if into_id is not None else None
            values[key] = into.status if into else None
        elif key.startswith("classification:"):
            taxonomy_id = int(key.split(":", 1)[1])
            rows = Classification.objects.filter(
                mitigation=mitigation, taxonomy_id=taxonomy_id
            ).values_list("node_id", "reasoning")
            values[key] = _placements_value(rows)
    return values


def proposed_value(kind: str, changes: AnyChanges, key: str):
    """What the proposal would make ``key``; ``None`` where it does not set that key."""
    return KINDS[kind].proposed_value(changes, key)


# --------------------------------------------------------------------------- display


class Labels:
    """Turns stored values into words, loading the sources and nodes it needs at once."""

    def __init__(self, values):
        source_ids: set[int] = set()
        node_ids: set[int] = set()
        mitigation_ids: set[int] = set()
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
    return KINDS[proposal.kind].diff(proposal, mitigation)


def _diff_rows(pairs: list[tuple[str, Any, Any]], *, new: bool) -> list[DiffRow]:
    """``(key, current, proposed)`` in stored form, as labelled rows (loading what they name)."""
    labels = Labels([(k, c) for k, c, _ in pairs] + [(k, p) for k, _, p in pairs])
    taxonomies = {n.taxonomy_id: n.taxonomy for n in labels.nodes.values()}
    rows = []
    for key, current, proposed in pairs:
        label = "Merged into" if key == "into" else key_label(key, taxonomies)
        rows.append(
            DiffRow(
                key=key,
                label=label,
                current="(new record)" if new else labels.text(key, current),
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
    return KINDS[proposal.kind].conflicts(proposal, mitigation)


def _base_conflicts(proposal, mitigation: Mitigation | None) -> list[FieldConflict]:
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


def _number_conflicts(changes: AnyChanges) -> list[FieldConflict]:
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


def _validate_number(changes: AnyChanges) -> None:
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
        assert into is not None, "a merged record points at the one it was merged into"
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


def _validate_text(changes: Mapping[str, Any]) -> None:
    """The proposed name, definition and section as the record's own fields validate them
    (lengths, NUL characters), so that a proposal never holds what could not be applied."""
    errors = {}
    for name in ("name", "definition", "section_path"):
        value = changes.get(name)
        if isinstance(value, str) and value:
            try:
                field = Mitigation._meta.get_field(name)
                assert isinstance(field, models.Field)
                field.run_validators(value)
            except ValidationError as error:
                errors[name] = error.messages
    if errors:
        raise ValidationError(errors)


def validate(
    *, kind: str, mitigation: Mitigation | None, taxonomy: Taxonomy | None, changes: AnyChanges
) -> None:
    """Refuse a change that could not be applied, naming the field at fault."""
    _validate_text(changes)
    spec = KINDS.get(kind)
    if spec is None:
        raise ValidationError({"kind": f"Unknown kind of proposal: {kind}."})
    if spec.targets_record:
        if mitigation is None:
            raise ValidationError("Name the mitigation the proposal changes.")
        _require_not_merged(mitigation)
    unknown = sorted(set(changes) - spec.change_keys())
    if unknown:
        raise ValidationError({name: "This field cannot be proposed." for name in unknown})
    spec.validate(mitigation=mitigation, taxonomy=taxonomy, changes=changes)


# --------------------------------------------------------------------------- applying


def _placements(pairs) -> list[services.Placement]:
    nodes = TaxonomyNode.objects.in_bulk([node for node, _ in pairs])
    return [services.Placement(node=nodes[node], reasoning=reasoning) for node, reasoning in pairs]


def apply(proposal, *, actor, reason: str, ref: str) -> models.Model:
    """Make the change through :mod:`catalog.services`; returns the record it shaped (a
    mitigation, or for a new source the document: see ``KindSpec.shapes``)."""
    return KINDS[proposal.kind].apply(proposal, actor=actor, reason=reason, ref=ref)


# --------------------------------------------------------------------------- the kinds


class KindSpec:
    """What one kind of proposal changes, and how. Subclass it and add the class to
    :data:`KINDS` to add a kind.

    ``targets_record``: the proposal changes an existing mitigation (``Proposal.mitigation``),
    so it is refused on a merged record, remembers a ``base`` and can conflict; otherwise it
    proposes something new, and ``Proposal.mitigation`` is what it created once applied.
    ``uses_taxonomy``: the proposal is about one taxonomy (``Proposal.taxonomy``).
    """

    kind: ClassVar[str]
    changes_type: ClassVar[Any]  # the TypedDict of its ``Proposal.changes``
    targets_record: ClassVar[bool] = True
    uses_taxonomy: ClassVar[bool] = False
    # The field of the proposal that holds what applying it shaped (``apply``'s result).
    shapes: ClassVar[str] = "mitigation"

    @classmethod
    def change_keys(cls) -> frozenset[str]:
        """The keys its ``Proposal.changes`` may hold."""
        shape = cls.changes_type
        return frozenset(shape.__required_keys__ | shape.__optional_keys__)

    def validate(
        self, *, mitigation: Mitigation | None, taxonomy: Taxonomy | None, changes: AnyChanges
    ) -> None:
        raise NotImplementedError

    def touched_keys(self, changes: AnyChanges, taxonomy_id: int | None) -> set[str]:
        return set()

    def base_keys(self, changes: AnyChanges, taxonomy_id: int | None) -> list[str]:
        if not self.targets_record:
            return []
        keys = sorted(self.touched_keys(changes, taxonomy_id) - {EVERYTHING})
        keys.append("status")
        return keys

    def proposed_value(self, changes: AnyChanges, key: str):
        return None

    def diff_pairs(self, proposal, mitigation: Mitigation) -> list[tuple[str, Any, Any]]:
        """``(key, current, proposed)`` for each key the proposal sets, in stored form."""
        changes = proposal.changes
        proposed = {
            key: self.proposed_value(changes, key)
            for key in self.base_keys(changes, proposal.taxonomy_id)
        }
        keys = [key for key, value in proposed.items() if value is not None]
        current = snapshot(mitigation, keys, changes)
        return [(key, current[key], proposed[key]) for key in keys]

    def diff(self, proposal, mitigation: Mitigation | None) -> list[DiffRow]:
        assert mitigation is not None, "a record's proposal is compared with its record"
        return _diff_rows(self.diff_pairs(proposal, mitigation), new=False)

    def conflicts(self, proposal, mitigation: Mitigation | None) -> list[FieldConflict]:
        return _base_conflicts(proposal, mitigation)

    def apply(self, proposal, *, actor, reason: str, ref: str) -> models.Model:
        raise NotImplementedError


class NewMitigation(KindSpec):
    kind = ProposalKind.NEW
    changes_type = NewMitigationChanges
    targets_record = False

    def validate(self, *, mitigation, taxonomy, changes):
        if not (changes.get("name") or "").strip():
            raise ValidationError({"name": "Give the mitigation a name."})
        if not SourceDocument.objects.filter(pk=changes.get("source")).exists():
            raise ValidationError({"source": "Choose the source document."})
        _validate_placements(changes.get("placements", []), None, "placements")
        _validate_number(changes)

    def diff(self, proposal, mitigation):
        changes = proposal.changes
        keys = ["name", "definition", "source", "section_path"]
        if changes.get("number") is not None:
            keys.insert(0, "number")
        pairs: list[tuple[str, Any, Any]] = [(key, None, changes.get(key)) for key in keys]
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
        return _diff_rows(pairs, new=True)

    def conflicts(self, proposal, mitigation):
        return _number_conflicts(proposal.changes)

    def apply(self, proposal, *, actor, reason, ref):
        changes = proposal.changes
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


class Edit(KindSpec):
    kind = ProposalKind.EDIT
    changes_type = EditChanges

    def validate(self, *, mitigation, taxonomy, changes):
        assert mitigation is not None
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

    def touched_keys(self, changes, taxonomy_id):
        return {key for key in changes if key in EDITABLE_FIELDS}

    def proposed_value(self, changes, key):
        return changes.get(key) if key in EDITABLE_FIELDS else None

    def apply(self, proposal, *, actor, reason, ref):
        mitigation, _ = services.mitigation_update(
            mitigation=proposal.mitigation,
            data=proposal.changes,
            actor=actor,
            reason=reason,
            ref=ref,
        )
        return mitigation


class Reclassify(KindSpec):
    kind = ProposalKind.RECLASSIFY
    changes_type = ReclassifyChanges
    uses_taxonomy = True

    def validate(self, *, mitigation, taxonomy, changes):
        assert mitigation is not None
        if taxonomy is None:
            raise ValidationError({"taxonomy": "Choose the taxonomy."})
        placements = changes.get("placements", [])
        _validate_placements(placements, taxonomy, "node")
        key = classification_key(taxonomy.pk)
        if snapshot(mitigation, [key], changes)[key] == _placements_value(placements):
            raise ValidationError({"node": "That is already its classification."})

    def touched_keys(self, changes, taxonomy_id):
        assert taxonomy_id is not None
        return {classification_key(taxonomy_id)}

    def proposed_value(self, changes, key):
        if key.startswith("classification:"):
            return _placements_value(changes.get("placements", []))
        return None

    def apply(self, proposal, *, actor, reason, ref):
        services.mitigation_reclassify(
            mitigation=proposal.mitigation,
            taxonomy=proposal.taxonomy,
            placements=_placements(proposal.changes.get("placements", [])),
            actor=actor,
            reason=reason,
            ref=ref,
        )
        return proposal.mitigation


class Retire(KindSpec):
    kind = ProposalKind.RETIRE
    changes_type = RetireChanges

    def validate(self, *, mitigation, taxonomy, changes):
        assert mitigation is not None
        if mitigation.status != MitigationStatus.ACTIVE:
            raise ValidationError(f"{mitigation.public_id} is already {mitigation.status}.")

    def touched_keys(self, changes, taxonomy_id):
        return {EVERYTHING}

    def proposed_value(self, changes, key):
        return "retired" if key == "status" else None

    def apply(self, proposal, *, actor, reason, ref):
        services.mitigation_retire(
            mitigation=proposal.mitigation, actor=actor, reason=reason, ref=ref
        )
        return proposal.mitigation


class Merge(KindSpec):
    kind = ProposalKind.MERGE
    changes_type = MergeChanges

    def validate(self, *, mitigation, taxonomy, changes):
        assert mitigation is not None
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

    def touched_keys(self, changes, taxonomy_id):
        return {EVERYTHING}

    def base_keys(self, changes, taxonomy_id):
        return [*super().base_keys(changes, taxonomy_id), "into:status"]

    def proposed_value(self, changes, key):
        return "merged" if key == "status" else None

    def diff_pairs(self, proposal, mitigation):
        pairs = super().diff_pairs(proposal, mitigation)
        return [*pairs, ("into", mitigation.merged_into_id, proposal.changes.get("into"))]

    def apply(self, proposal, *, actor, reason, ref):
        services.mitigation_merge(
            mitigation=proposal.mitigation,
            into=Mitigation.objects.get(pk=proposal.changes["into"]),
            actor=actor,
            reason=reason,
            ref=ref,
        )
        return proposal.mitigation


SOURCE_FIELD_LABELS = {
    "short_ref": "Short reference",
    "title": "Title",
    "authors": "Authors",
    "first_author": "First author",
    "year": "Year",
    "url": "URL",
    "doi": "DOI",
    "doc_type": "Type",
    "abstract": "Abstract",
}


def first_author(authors: str) -> str:
    """The first of ``authors`` (one per line, or separated by semicolons)."""
    for line in (authors or "").replace(";", "\n").splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def source_fields(changes: AnyChanges) -> dict[str, Any]:
    """The source document a ``new_source`` proposal would create, as its service takes it."""
    return {
        "short_ref": (changes.get("short_ref") or "").strip(),
        "title": (changes.get("title") or "").strip(),
        "authors": changes.get("authors") or "",
        "first_author": first_author(changes.get("authors") or ""),
        "year": changes.get("year"),
        "url": changes.get("url") or "",
        "doi": changes.get("doi") or "",
        "doc_type": changes.get("doc_type") or "",
        "abstract": changes.get("abstract") or "",
    }


class NewSource(KindSpec):
    """A source document the catalog lacks, proposed so that mitigations can cite it."""

    kind = ProposalKind.NEW_SOURCE
    changes_type = NewSourceChanges
    targets_record = False
    shapes = "source_document"

    def validate(self, *, mitigation, taxonomy, changes):
        year = changes.get("year")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
            raise ValidationError({"year": "Give the year as a whole number, e.g. 2024."})
        for name in ("short_ref", "title", "authors", "url", "doi", "doc_type", "abstract"):
            if not isinstance(changes.get(name, ""), str):
                raise ValidationError({name: "Expected text here."})
        fields = source_fields(changes)
        if not fields["short_ref"]:
            raise ValidationError({"short_ref": "Give the document a short reference."})
        if not fields["title"]:
            raise ValidationError({"title": "Give the document's title."})
        # The document's own validation: lengths, the URL, the year's range, the type, and a
        # short reference no other document has.
        SourceDocument(**fields).full_clean()

    def diff(self, proposal, mitigation):
        fields = source_fields(proposal.changes)
        rows = []
        for key, label in SOURCE_FIELD_LABELS.items():
            value = fields.get(key)
            if key == "doc_type":
                value = DocType(value).label if value in DocType.values else value
            shown = "(empty)" if value in (None, "") else str(value)
            rows.append(DiffRow(key=key, label=label, current="(new record)", proposed=shown))
        return rows

    def conflicts(self, proposal, mitigation):
        short_ref = (proposal.changes.get("short_ref") or "").strip()
        taken = SourceDocument.objects.filter(short_ref=short_ref).first()
        if taken is None:
            return []
        return [
            FieldConflict(
                key="short_ref",
                label=SOURCE_FIELD_LABELS["short_ref"],
                base="(free)",
                current=f"taken by {taken.short_ref}: {taken.title}",
                proposed=short_ref,
            )
        ]

    def apply(self, proposal, *, actor, reason, ref):
        return services.source_document_create(
            actor=actor, reason=reason, ref=ref, **source_fields(proposal.changes)
        )


KINDS: dict[str, KindSpec] = {
    spec.kind: spec
    for spec in (NewMitigation(), Edit(), Reclassify(), Retire(), Merge(), NewSource())
}
