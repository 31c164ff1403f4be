"""Load the reference data (taxonomies, vocabularies, source documents) and the demo content.

The fixtures in ``fixtures/`` are plain JSON keyed by natural keys: taxonomy slug, node code,
document short reference, mitigation public ID. Loading goes through the services, so the
first load writes history ("Reference data: taxonomies.json") and a repeated load, finding
nothing to change, writes none.

By default a record that already exists is left as it is, so that a curated database keeps its
curation when ``make run`` runs again. ``sync=True`` brings existing records back in line with
the fixtures (each difference is a change with its own history row).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from . import services
from .models import Mitigation, SourceDocument, Taxonomy, TaxonomyNode, parse_public_id
from .roles import curators_group

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


@dataclass
class LoadReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    differing: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        kinds = sorted(set(self.created) | set(self.updated) | set(self.differing))
        out = []
        for kind in kinds:
            line = f"{kind}: {self.created[kind]} created, {self.updated[kind]} updated"
            if self.differing[kind]:
                line += f", {self.differing[kind]} differ from the fixtures (use --sync)"
            out.append(line)
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
        """Create ``existing`` if missing; bring it in line with ``data`` when syncing."""
        if existing is None:
            self.report.created[kind] += 1
            return create(actor=self.actor, reason=reason, **data)
        if self.sync:
            obj, changed = update(existing, data, reason)
            if changed:
                self.report.updated[kind] += 1
            return obj
        if _differs(existing, data):
            self.report.differing[kind] += 1
        return existing

    # ------------------------------------------------------------------ taxonomies

    def taxonomies(self):
        reason = "Reference data: taxonomies.json"
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
        reason = "Reference data: documents.json"
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
        reason = "Demo content: demo_mitigations.json"
        sources = {doc.short_ref: doc for doc in SourceDocument.objects.all()}
        nodes = {
            (node.taxonomy.slug, node.code): node
            for node in TaxonomyNode.objects.select_related("taxonomy")
        }
        existing = {m.number: m for m in Mitigation.objects.all()}
        for entry in _read("demo_mitigations.json", self.fixtures_dir):
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
                services.mitigation_create(
                    number=number,
                    placements=[p for group in placements.values() for p in group],
                    actor=self.actor,
                    reason=reason,
                    **fields,
                )
                self.report.created["demo mitigations"] += 1
                continue
            if not self.sync:
                continue
            _, changed = services.mitigation_update(
                mitigation=mitigation, data=fields, actor=self.actor, reason=reason
            )
            for group in placements.values():
                changed_here = services.mitigation_reclassify(
                    mitigation=mitigation,
                    taxonomy=group[0].node.taxonomy,
                    placements=group,
                    actor=self.actor,
                    reason=reason,
                )
                changed = changed or changed_here
            if changed:
                self.report.updated["demo mitigations"] += 1

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


def _differs(obj, data) -> bool:
    for name, value in data.items():
        field = obj._meta.get_field(name)
        current = getattr(obj, field.attname)
        wanted = value.pk if field.is_relation and value is not None else value
        if current != wanted:
            return True
    return False


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
    return loader.report
