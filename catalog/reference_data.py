"""Load the reference data (taxonomies, vocabularies, source documents) and the demo content.

The fixtures in ``fixtures/`` are plain JSON keyed by natural keys: taxonomy slug, node code,
document short reference, mitigation public ID. Loading goes through the services, so the
first load writes history ("Reference data: taxonomies.json") and a repeated load, finding
nothing to change, writes none.

By default a record that already exists is left as it is, so that a curated database keeps its
curation when ``make run`` runs again. ``sync=True`` brings existing records back in line with
the fixtures, but only where the loader itself wrote the value last (the fixtures changed since
an earlier load): a field that an import, a curator or an admin wrote since is never
overwritten, and the report names it. Who wrote a value last is read from the record's history
(the loader's rows carry the reasons in :data:`LOADER_REASONS`); a record without history is
not the loader's either.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from . import services
from .models import (
    Classification,
    Mitigation,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
    parse_public_id,
)
from .roles import curators_group, display_name

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"

DOC_TYPES = {
    "preprint": SourceDocument.DocType.PREPRINT,
    "legislation": SourceDocument.DocType.LEGISLATION,
    "government": SourceDocument.DocType.GOVERNMENT,
    "non_government": SourceDocument.DocType.NON_GOVERNMENT,
}


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    display_name: str


# Demo accounts exist only where --with-demo was asked for: never in a production database.
DEMO_ACCOUNTS = (
    DemoAccount("demo-admin", "demo-admin-pass", "admin", "Ada Admin"),
    DemoAccount("demo-curator", "demo-curator-pass", "curator", "Cyrus Curator"),
    DemoAccount("demo-curator2", "demo-curator2-pass", "curator", "Carla Curator"),
    DemoAccount("demo-contributor", "demo-contributor-pass", "contributor", "Chen Contributor"),
    DemoAccount("demo-contributor2", "demo-contributor2-pass", "contributor", "Cleo Contributor"),
)


TAXONOMIES_REASON = "Reference data: taxonomies.json"
DOCUMENTS_REASON = "Reference data: documents.json"
DEMO_REASON = "Demo content: demo_mitigations.json"
# History rows whose reason starts so were written by this loader; any other row is someone's
# curation (an import, a proposal, an admin's edit) that --sync must keep.
LOADER_REASONS = ("Reference data: ", "Demo content: ")


@dataclass(frozen=True)
class KeptValue:
    """A value that differs from the fixtures and stays, because someone other than the loader
    wrote it: ``source documents NIST2024: title (Import of mit.csv (batch 3), 2 May 2026)``."""

    kind: str
    record: str
    field: str
    written_by: str

    def __str__(self) -> str:
        return f"{self.kind} {self.record}: {self.field} ({self.written_by})"


@dataclass
class LoadReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    # Records with values the loader wrote and the fixtures have changed since: --sync updates.
    stale: Counter = field(default_factory=Counter)
    # Values an import or a person wrote: never overwritten, with or without --sync.
    kept: list[KeptValue] = field(default_factory=list)

    def lines(self, *, verbose: bool = False) -> list[str]:
        kept_by_kind = Counter(value.kind for value in self.kept)
        kinds = sorted(set(self.created) | set(self.updated) | set(self.stale) | set(kept_by_kind))
        out = []
        for kind in kinds:
            if not (self.created[kind] or self.updated[kind] or self.stale[kind]):
                continue
            line = f"{kind}: {self.created[kind]} created, {self.updated[kind]} updated"
            if self.stale[kind]:
                line += (
                    f", {self.stale[kind]} differ from newer fixtures "
                    "(--sync updates them; it never overwrites an import's or a curator's values)"
                )
            out.append(line)
        if self.kept:
            records = len({(value.kind, value.record) for value in self.kept})
            out.append(
                f"kept: {len(self.kept)} value{'s' if len(self.kept) != 1 else ''} in "
                f"{records} record{'s' if records != 1 else ''} differ from the fixtures because "
                "an import or a curator wrote them; they stay as they are"
                + ("" if verbose else " (--verbosity 2 lists them)")
            )
            if verbose:
                out.extend(f"  {value}" for value in self.kept)
        return out or ["nothing to do"]


def _read(name: str, fixtures_dir: Path):
    with open(fixtures_dir / name, encoding="utf-8") as handle:
        return json.load(handle)


class _Loader:
    def __init__(self, *, fixtures_dir: Path, sync: bool, actor=None):
        self.fixtures_dir = fixtures_dir
        self.sync = sync
        self.actor = actor
        self.report = LoadReport()

    def _upsert(self, kind, existing, create, update, data, reason):
        """Create ``existing`` if missing. Otherwise, when syncing, bring the fields the loader
        wrote last in line with ``data``; fields someone else wrote are kept and reported."""
        if existing is None:
            self.report.created[kind] += 1
            return create(actor=self.actor, reason=reason, **data)
        differing = [name for name in data if _differs(existing, {name: data[name]})]
        if not differing:
            return existing
        ours = self._loader_fields(kind, existing, differing)
        if not ours:
            return existing
        if not self.sync:
            self.report.stale[kind] += 1
            return existing
        obj, changed = update(existing, {name: data[name] for name in ours}, reason)
        if changed:
            self.report.updated[kind] += 1
        return obj

    def _loader_fields(self, kind, obj, names) -> list[str]:
        """Those of ``names`` whose current value the loader wrote; the others are reported."""
        writers = last_writers(obj, names)
        ours = []
        for name in names:
            row = writers.get(name)
            if written_by_loader(row):
                ours.append(name)
            else:
                self.report.kept.append(KeptValue(kind, str(obj), name, describe_writer(row)))
        return ours

    # ------------------------------------------------------------------ taxonomies

    def taxonomies(self):
        reason = TAXONOMIES_REASON
        for entry in _read("taxonomies.json", self.fixtures_dir):
            data = {key: entry[key] for key in services.TAXONOMY_FIELDS if key in entry}
            taxonomy = self._upsert(
                "taxonomies",
                Taxonomy.objects.filter(slug=entry["slug"]).first(),
                services.taxonomy_create,
                lambda obj, data, reason: services.taxonomy_update(
                    taxonomy=obj, data=data, actor=self.actor, reason=reason
                ),
                data,
                reason,
            )
            existing = {node.code: node for node in taxonomy.nodes.all()}
            self._nodes(taxonomy, entry.get("nodes", []), None, existing, reason)

    def _nodes(self, taxonomy, entries, parent, existing, reason):
        for order, entry in enumerate(entries, start=1):
            data = {
                "code": entry["code"],
                "name": entry["name"],
                "definition": entry.get("definition", ""),
                "parent": parent,
                "order": order,
                "is_catch_all": bool(entry.get("catch_all", False)),
            }
            node = self._upsert(
                "taxonomy nodes",
                existing.get(entry["code"]),
                lambda actor, reason, **data: services.taxonomy_node_create(
                    taxonomy=taxonomy, actor=actor, reason=reason, **data
                ),
                lambda obj, data, reason: services.taxonomy_node_update(
                    node=obj, data=data, actor=self.actor, reason=reason
                ),
                data,
                reason,
            )
            existing[node.code] = node
            self._nodes(taxonomy, entry.get("children", []), node, existing, reason)

    # ------------------------------------------------------------------ sources

    def documents(self):
        reason = DOCUMENTS_REASON
        existing = {doc.short_ref: doc for doc in SourceDocument.objects.all()}
        for entry in _read("documents.json", self.fixtures_dir):
            data = {key: entry[key] for key in services.SOURCE_FIELDS if key in entry}
            data["doc_type"] = DOC_TYPES[entry["type"]]
            self._upsert(
                "source documents",
                existing.get(entry["short_ref"]),
                services.source_document_create,
                lambda obj, data, reason: services.source_document_update(
                    source=obj, data=data, actor=self.actor, reason=reason
                ),
                data,
                reason,
            )

    # ------------------------------------------------------------------ demo content

    def demo_mitigations(self):
        reason = DEMO_REASON
        kind = "demo mitigations"
        sources = {doc.short_ref: doc for doc in SourceDocument.objects.all()}
        nodes = {
            (node.taxonomy.slug, node.code): node
            for node in TaxonomyNode.objects.select_related("taxonomy")
        }
        existing = {m.number: m for m in Mitigation.objects.all()}
        entries = _read("demo_mitigations.json", self.fixtures_dir)
        for entry in entries:
            number = parse_public_id(entry["public_id"])
            fields = {
                "name": entry["name"],
                "definition": entry.get("definition", ""),
                "source": sources[entry["source"]],
                "section_path": entry.get("section_path", ""),
            }
            placements = {
                slug: [services.Placement(nodes[(slug, c["code"])], c.get("reasoning", ""))]
                for slug, c in entry.get("classifications", {}).items()
            }
            mitigation = existing.get(number)
            if mitigation is None:
                existing[number] = services.mitigation_create(
                    number=number,
                    placements=[p for group in placements.values() for p in group],
                    actor=self.actor,
                    reason=reason,
                    **fields,
                )
                self.report.created[kind] += 1
                continue
            if mitigation.status == Mitigation.Status.MERGED:
                continue  # a merged record takes no edits; its content lives on elsewhere
            self._demo_mitigation_sync(mitigation, fields, placements, reason)
        self._demo_statuses(entries, existing, reason)

    def _demo_mitigation_sync(self, mitigation, fields, placements, reason):
        kind = "demo mitigations"
        differing = [name for name in fields if _differs(mitigation, {name: fields[name]})]
        ours = self._loader_fields(kind, mitigation, differing) if differing else []
        stale_groups = []
        for slug, group in placements.items():
            current = {
                (c.node_id, c.reasoning)
                for c in mitigation.classifications.filter(taxonomy__slug=slug)
            }
            if current == {(p.node.pk, p.reasoning) for p in group}:
                continue
            rows = Classification.history.filter(mitigation_id=mitigation.pk, taxonomy__slug=slug)
            others = [row for row in rows if not written_by_loader(row)]
            if others:
                latest = max(others, key=lambda row: (row.history_date, row.history_id))
                self.report.kept.append(
                    KeptValue(
                        kind, str(mitigation), f"{slug} classification", describe_writer(latest)
                    )
                )
            else:
                stale_groups.append(group)
        if not (ours or stale_groups):
            return
        if not self.sync:
            self.report.stale[kind] += 1
            return
        _, changed = services.mitigation_update(
            mitigation=mitigation,
            data={name: fields[name] for name in ours},
            actor=self.actor,
            reason=reason,
        )
        for group in stale_groups:
            changed_here = services.mitigation_reclassify(
                mitigation=mitigation,
                taxonomy=group[0].node.taxonomy,
                placements=group,
                actor=self.actor,
                reason=reason,
            )
            changed = changed or changed_here
        if changed:
            self.report.updated[kind] += 1

    def _demo_statuses(self, entries, existing, reason):
        """Give a demo record the retired or merged status its entry asks for, if it is active
        and only the loader ever wrote it (a restore or an edit by a person is kept)."""
        for entry in entries:
            status = entry.get("status")
            if not status:
                continue
            mitigation = existing[parse_public_id(entry["public_id"])]
            if mitigation.status != Mitigation.Status.ACTIVE or not all(
                written_by_loader(row) for row in mitigation.history.all()
            ):
                continue
            note = entry.get("status_note") or "Demo content"
            if status == Mitigation.Status.RETIRED:
                services.mitigation_retire(
                    mitigation=mitigation, actor=self.actor, reason=f"{reason} ({note})"
                )
            elif status == Mitigation.Status.MERGED:
                services.mitigation_merge(
                    mitigation=mitigation,
                    into=existing[parse_public_id(entry["merged_into"])],
                    actor=self.actor,
                    reason=f"{reason} ({note})",
                )

    def demo_accounts(self):
        User = get_user_model()
        curators = curators_group()
        for account in DEMO_ACCOUNTS:
            existing = User.objects.filter(username=account.username).first()
            if existing is not None:
                _verify_demo_email(existing)
                continue
            first, last = account.display_name.split(" ", 1)
            user = User.objects.create_user(
                username=account.username,
                email=f"{account.username}@example.org",
                password=account.password,
                first_name=first,
                last_name=last,
                is_staff=account.role == "admin",
                is_superuser=account.role == "admin",
            )
            if account.role == "curator":
                user.groups.add(curators)
            _verify_demo_email(user)
            self.report.created["demo accounts"] += 1


def _verify_demo_email(user) -> None:
    """Demo accounts sign in at once: their address counts as confirmed (django-allauth)."""
    if not django_apps.is_installed("allauth.account"):
        return
    from allauth.account.models import EmailAddress

    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )


def written_by_loader(row) -> bool:
    """Whether the history ``row`` was written by this loader (None: no history, so no)."""
    return row is not None and (row.history_change_reason or "").startswith(LOADER_REASONS)


def describe_writer(row) -> str:
    if row is None:
        return "no recorded history"
    who = display_name(row.history_user, "")
    parts = [row.history_change_reason or "no reason given"]
    if who:
        parts.append(f"by {who}")
    parts.append(f"{row.history_date:%Y-%m-%d}")
    return ", ".join(parts)


def last_writers(obj, names) -> dict:
    """For each field in ``names``, the history row of ``obj`` that gave it its current value
    (one query; a field never set by any row is absent)."""
    fields = [obj._meta.get_field(name) for name in names]
    rows = obj.history.select_related("history_user").order_by("history_date", "history_id")
    last, previous = {}, None
    for row in rows:
        for model_field in fields:
            value = getattr(row, model_field.attname)
            if previous is None or value != getattr(previous, model_field.attname):
                last[model_field.name] = row
        previous = row
    return last


def _differs(obj, data) -> bool:
    for name, value in data.items():
        field = obj._meta.get_field(name)
        current = getattr(obj, field.attname)
        wanted = value.pk if field.is_relation and value is not None else value
        if current != wanted:
            return True
    return False


# Demo content of other apps (catalog never imports them): ``load(report)`` after the demo
# records and accounts, registered in their ``AppConfig.ready``.
_demo_content: list[Callable[[LoadReport], None]] = []


def register_demo_content(load: Callable[[LoadReport], None]) -> None:
    """Let another app add its demo content to ``--with-demo`` (idempotently: a second load
    must change nothing)."""
    if load not in _demo_content:
        _demo_content.append(load)


def load_reference_data(
    *, with_demo: bool = False, sync: bool = False, fixtures_dir: Path = FIXTURES_DIR, actor=None
) -> LoadReport:
    """Load everything in one transaction: a failure leaves the database as it was."""
    loader = _Loader(fixtures_dir=fixtures_dir, sync=sync, actor=actor)
    with transaction.atomic():
        loader.taxonomies()
        loader.documents()
        if with_demo:
            loader.demo_mitigations()
            loader.demo_accounts()
            for load in _demo_content:
                load(loader.report)
    return loader.report
