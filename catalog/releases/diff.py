"""What changed between two releases, record by record.

Both releases' rows are read in number order from one cursor each and merged, so the diff of
two releases of 100,000 records runs in flat memory. Each record that differs yields one
:class:`RecordChange` with its kinds:

- ``added`` (only in the newer), ``removed`` (only in the older: a record removed when its
  import was reverted);
- ``retired``, ``merged``, ``restored``: its status changed (to retired, to merged, back to
  active);
- ``edited``: which fields changed, with the old and new values (name, definition, source,
  section, status note, the record it was merged into, a classification's reasoning);
- ``reclassified``: per taxonomy whose nodes changed, the old and the new codes.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from catalog.models import format_public_id
from catalog.spreadsheet import make_inert

from . import selectors
from .models import Release

KINDS = ("added", "removed", "retired", "merged", "restored", "edited", "reclassified")
FIELDS = ("name", "definition", "source", "section", "status_note", "merged_into")


@dataclass
class RecordChange:
    number: int
    name: str
    kinds: list[str] = field(default_factory=list)
    status: tuple[str, str] | None = None
    fields: dict[str, tuple] = field(default_factory=dict)
    classifications: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)

    @property
    def public_id(self) -> str:
        return format_public_id(self.number)

    def as_json(self) -> dict:
        return {
            "id": self.public_id,
            "name": self.name,
            "kinds": self.kinds,
            "status": {"old": self.status[0], "new": self.status[1]} if self.status else None,
            "fields": {name: {"old": old, "new": new} for name, (old, new) in self.fields.items()},
            "classifications": {
                slug: {"old": old, "new": new} for slug, (old, new) in self.classifications.items()
            },
        }


def _placements(data: dict) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for slug, code, reasoning in data["classifications"]:
        out.setdefault(slug, {})[code] = reasoning
    return out


def compare(number: int, old: dict | None, new: dict | None) -> RecordChange | None:
    """The change of one record between two snapshots, or None if it is the same."""
    if old is None and new is not None:
        return RecordChange(number, new["name"], ["added"], status=(None, new["status"]))
    if new is None and old is not None:
        return RecordChange(number, old["name"], ["removed"], status=(old["status"], None))
    assert old is not None and new is not None
    change = RecordChange(number, new["name"])
    if old["status"] != new["status"]:
        change.status = (old["status"], new["status"])
        change.kinds.append(
            {"retired": "retired", "merged": "merged", "active": "restored"}[new["status"]]
        )
    for name in FIELDS:
        if old.get(name) != new.get(name) and not (
            name in ("merged_into", "status_note") and change.status
        ):
            change.fields[name] = (old.get(name), new.get(name))
    before, after = _placements(old), _placements(new)
    for slug in sorted(set(before) | set(after)):
        old_codes, new_codes = sorted(before.get(slug, {})), sorted(after.get(slug, {}))
        if old_codes != new_codes:
            change.classifications[slug] = (old_codes, new_codes)
        for code in set(old_codes) & set(new_codes):
            if before[slug][code] != after[slug][code]:
                change.fields[f"{slug} {code} reasoning"] = (before[slug][code], after[slug][code])
    if change.fields:
        change.kinds.append("edited")
    if change.classifications:
        change.kinds.append("reclassified")
    return change if change.kinds else None


def release_diff(old: Release, new: Release) -> Iterator[RecordChange]:
    """Every record that differs between ``old`` and ``new``, by number."""
    left = selectors.release_record_data(old)
    right = selectors.release_record_data(new)
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            change = compare(a[0], a[1], None)
            a = next(left, None)
        elif a is None or b[0] < a[0]:
            change = compare(b[0], None, b[1])
            b = next(right, None)
        else:
            change = compare(a[0], a[1], b[1])
            a, b = next(left, None), next(right, None)
        if change is not None:
            yield change


@dataclass
class DiffPage:
    counts: Counter
    changed: int
    changes: list[RecordChange]
    kind: str | None


def diff_page(old: Release, new: Release, *, kind: str | None, limit: int) -> DiffPage:
    """Counts of every kind over the whole diff, and the first ``limit`` changes (of ``kind``)."""
    counts: Counter = Counter()
    changed = 0
    shown: list[RecordChange] = []
    for change in release_diff(old, new):
        changed += 1
        counts.update(change.kinds)
        if len(shown) < limit and (kind is None or kind in change.kinds):
            shown.append(change)
    return DiffPage(counts=counts, changed=changed, changes=shown, kind=kind)


def iter_json(old: Release, new: Release) -> Iterator[bytes]:
    """The whole diff as one JSON document, streamed (the counts come last)."""
    yield (
        b'{"release": '
        + json.dumps(new.version).encode()
        + b', "since": '
        + json.dumps(old.version).encode()
        + b', "changes": ['
    )
    counts: Counter = Counter()
    first = True
    for change in release_diff(old, new):
        counts.update(change.kinds)
        body = json.dumps(change.as_json(), ensure_ascii=False).encode()
        yield (b"" if first else b",") + b"\n" + body
        first = False
    totals = {kind: counts.get(kind, 0) for kind in KINDS}
    yield b'\n], "counts": ' + json.dumps(totals).encode() + b"}\n"


CSV_HEADER = ["id", "name", "change", "field or taxonomy", "old", "new"]


def csv_rows(old: Release, new: Release) -> Iterator[list]:
    """One row per thing that changed: a status, a field, a taxonomy's codes."""
    yield CSV_HEADER
    for change in release_diff(old, new):
        head = [change.public_id, change.name]
        for kind in change.kinds:
            if kind in ("added", "removed", "retired", "merged", "restored"):
                old_status, new_status = change.status or ("", "")
                yield [*head, kind, "status", old_status or "", new_status or ""]
            elif kind == "edited":
                for name, (before, after) in change.fields.items():
                    yield [*head, kind, name, before or "", after or ""]
            else:
                for slug, (before, after) in change.classifications.items():
                    yield [*head, kind, slug, "; ".join(before), "; ".join(after)]


class _Line:
    def write(self, value):
        return value


def iter_csv(old: Release, new: Release) -> Iterator[bytes]:
    writer = csv.writer(_Line())
    yield "\ufeff".encode()
    for row in csv_rows(old, new):
        yield writer.writerow([make_inert(value) for value in row]).encode("utf-8")
