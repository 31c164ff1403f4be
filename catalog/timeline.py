"""A mitigation's history as a timeline a reader can follow: who, when, why and what changed.

The history rows of the mitigation and of its classifications (removed ones included) are read
in two queries and merged. Rows written by one unit of work (one service call: same user,
reason and reference, moments apart) form one entry; each entry lists its field-level changes,
old value beside new, with a word-level diff for long text.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .history import describe_refs, ref_url
from .models import Classification, Mitigation, MitigationStatus, Taxonomy, format_public_id
from .roles import display_name

TRACKED_FIELDS = (
    "number",
    "name",
    "definition",
    "source",
    "section_path",
    "status",
    "status_note",
    "merged_into",
)
LONG_TEXT = 80
SAME_UNIT_OF_WORK = timedelta(seconds=2)


@dataclass
class Segment:
    kind: str  # "same", "removed" or "added"
    text: str


@dataclass
class FieldChange:
    label: str
    old: str | None  # None: the value was set where there was none (a creation)
    new: str | None  # None: the value was removed
    segments: list[Segment] | None = None  # a word-level diff, for long text

    @property
    def is_long(self) -> bool:
        return self.segments is not None


@dataclass
class TimelineEntry:
    when: datetime
    who: str
    reason: str
    ref: str
    ref_url: str | None
    created: bool = False
    removed: bool = False
    changes: list[FieldChange] = field(default_factory=list)
    # What caused the change, as readers see it (see catalog.history.describe_refs).
    ref_label: str = ""
    ref_public_url: str | None = None  # never an admin page
    ref_staff_url: str | None = None  # the admin page, for staff
    proposed_by: str = ""  # who proposed it, when curators applied someone's proposal
    approved_by: tuple[str, ...] = ()
    _user_id: int | None = None
    _rows: set = field(default_factory=set)

    @property
    def approvers(self) -> str:
        """``"Cecil"``, ``"Cecil and Olga"``, ``"Ann, Bob and Cy"``; the one who applied it if
        the approvals are not known."""
        names = list(self.approved_by) or [self.who]
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"

    def accepts(self, row, key) -> bool:
        """Whether ``row`` (a history row of the object ``key``) belongs to this entry's unit
        of work: same user, reason and reference, moments later, and no second row for one
        object (two edits of the record are two entries, however close together).
        """
        same_context = (
            row.history_user_id,
            row.history_change_reason or "",
            row.history_ref or "",
        ) == (self._user_id, self.reason, self.ref)
        return (
            same_context
            and key not in self._rows
            and abs(row.history_date - self.when) <= SAME_UNIT_OF_WORK
        )


def _who(row) -> str:
    return display_name(row.history_user, "system")


def word_diff(old: str, new: str) -> list[Segment]:
    old_words, new_words = old.split(" "), new.split(" ")
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(Segment("same", " ".join(old_words[a1:a2])))
            continue
        if a2 > a1:
            segments.append(Segment("removed", " ".join(old_words[a1:a2])))
        if b2 > b1:
            segments.append(Segment("added", " ".join(new_words[b1:b2])))
    return segments


def _change(label: str, old: str | None, new: str | None) -> FieldChange:
    change = FieldChange(label=label, old=old, new=new)
    if old and new and max(len(old), len(new)) > LONG_TEXT:
        change.segments = word_diff(old, new)
    return change


def _display(row, name: str) -> str:
    if name == "number":
        return format_public_id(row.number)
    if name == "source":
        return row.source.short_ref if row.source_id else ""
    if name == "merged_into":
        return row.merged_into.public_id if row.merged_into_id else ""
    if name == "status":
        return MitigationStatus(row.status).label
    return getattr(row, name) or ""


def _label(name: str) -> str:
    if name == "number":
        return "Public ID"
    verbose = str(Mitigation._meta.get_field(name).verbose_name)
    return verbose[:1].upper() + verbose[1:]


def _mitigation_changes(row, previous) -> list[FieldChange]:
    changes = []
    for name in TRACKED_FIELDS:
        new = _display(row, name)
        if previous is None:
            if new:
                changes.append(_change(_label(name), None, new))
            continue
        old = _display(previous, name)
        if old != new:
            changes.append(_change(_label(name), old or None, new or None))
    return changes


def _node_text(row) -> str:
    return row.node.label if row.taxonomy.kind == Taxonomy.Kind.TAXONOMY else row.node.name


def _classification_changes(row, previous) -> list[FieldChange]:
    taxonomy = row.taxonomy.name
    if row.history_type == "-":
        return [_change(taxonomy, _node_text(row), None)]
    if previous is None or row.history_type == "+":
        changes = [_change(taxonomy, None, _node_text(row))]
        if row.reasoning:
            changes.append(_change(f"{taxonomy}: reasoning", None, row.reasoning))
        return changes
    changes = []
    if previous.node_id != row.node_id:
        changes.append(_change(taxonomy, _node_text(previous), _node_text(row)))
    if previous.reasoning != row.reasoning:
        changes.append(
            _change(f"{taxonomy}: reasoning", previous.reasoning or None, row.reasoning or None)
        )
    return changes


def mitigation_timeline(mitigation: Mitigation) -> list[TimelineEntry]:
    """Every change to ``mitigation`` and its classifications, newest first.

    Two queries, plus one or two per kind of reference the history holds (a proposal's
    author and approvers: see :func:`catalog.history.describe_refs`). ``mitigation`` may be a
    removed record's last historical instance: its timeline ends with the removal.
    """
    mitigation_rows = list(
        Mitigation.history.filter(id=mitigation.pk)
        .select_related("history_user", "source", "merged_into")
        .order_by("history_date", "history_id")
    )
    classification_rows = list(
        Classification.history.filter(mitigation_id=mitigation.pk)
        .select_related("history_user", "taxonomy", "node")
        .order_by("history_date", "history_id")
    )

    events = []
    previous = None
    for row in mitigation_rows:
        changes = _mitigation_changes(row, previous)
        events.append((row, ("mitigation", row.id), changes, row.history_type))
        previous = row
    last_by_classification = {}
    for row in classification_rows:
        changes = _classification_changes(row, last_by_classification.get(row.id))
        events.append((row, ("classification", row.id), changes, ""))
        last_by_classification[row.id] = row
    events.sort(key=lambda event: (event[0].history_date, event[3] != "+"))

    entries: list[TimelineEntry] = []
    for row, key, changes, record_change in events:
        current = entries[-1] if entries else None
        if current is None or not current.accepts(row, key):
            ref = row.history_ref or ""
            current = TimelineEntry(
                when=row.history_date,
                who=_who(row),
                reason=row.history_change_reason or "",
                ref=ref,
                ref_url=ref_url(ref),
                _user_id=row.history_user_id,
            )
            entries.append(current)
        current._rows.add(key)
        current.created = current.created or record_change == "+"
        current.removed = current.removed or record_change == "-"
        current.changes.extend(changes)
    described = describe_refs(entry.ref for entry in entries)
    for entry in entries:
        if entry.ref:
            about = described[entry.ref]
            entry.ref_label = about.label
            entry.ref_public_url = about.url
            entry.ref_staff_url = about.staff_url
            entry.proposed_by = about.proposed_by
            entry.approved_by = about.approved_by
    return list(reversed(entries))


def history_row_changes(row, previous) -> list[FieldChange]:
    """The field-level changes of one history row of a mitigation or a classification
    against ``previous`` (the same object's row before it, or None): what a timeline entry
    lists, for readers of single rows such as the change feeds."""
    if isinstance(row, Classification.history.model):
        return _classification_changes(row, previous)
    return _mitigation_changes(row, previous)
