"""The catalog version: every kind of write changes it, in its own transaction, and values
cached under it are computed afresh after a write."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from catalog import services, version
from catalog.imports.batches import import_batch_revert
from catalog.models import (
    CatalogVersion,
    ImportKind,
    Mitigation,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
)
from catalog.version import catalog_version, code_fingerprint
from review import workflow
from review.models import ProposalKind
from tests.factories import MitigationFactory, TaxonomyFactory, place
from tests.review.conftest import new_proposal
from tests.spreadsheets import CATALOG_BASE, import_one, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def record():
    return Mitigation.objects.get(number=9001)


def node(code: str, slug: str = "airm-preliminary") -> TaxonomyNode:
    return TaxonomyNode.objects.get(taxonomy__slug=slug, code=code)


class Changes:
    """Asserts that the block changed the version (number, token and time) exactly as told."""

    def __init__(self, *, changed: bool = True):
        self.changed = changed

    def __enter__(self):
        self.before = version.catalog_version()
        return self

    def __exit__(self, kind, error, traceback):
        if kind is not None:
            return False
        after = version.catalog_version()
        if self.changed:
            assert after.number > self.before.number
            assert after.token != self.before.token
            assert after.key != self.before.key
            assert after.changed_at >= (self.before.changed_at or after.changed_at)
        else:
            assert after == self.before
        return False


def test_a_migrated_database_has_a_version():
    current = version.catalog_version()
    assert current.token and current.changed_at is not None
    assert CatalogVersion.objects.count() == 1


# --------------------------------------------------------------------------- single services


WRITES = {
    "taxonomy_create": lambda: services.taxonomy_create(
        slug="new-one", name="New", actor=None, reason="Test"
    ),
    "taxonomy_update": lambda: services.taxonomy_update(
        taxonomy=Taxonomy.objects.get(slug="actor"),
        data={"description": "Who acts."},
        actor=None,
        reason="Test",
    ),
    "taxonomy_node_create": lambda: services.taxonomy_node_create(
        taxonomy=Taxonomy.objects.get(slug="airm-preliminary"),
        code="9.9",
        name="A new node",
        actor=None,
        reason="Test",
    ),
    "taxonomy_node_update": lambda: services.taxonomy_node_update(
        node=node("3.1"), data={"name": "Testing and auditing"}, actor=None, reason="Test"
    ),
    "source_document_create": lambda: services.source_document_create(
        short_ref="New2026", title="A new framework", actor=None, reason="Test"
    ),
    "source_document_update": lambda: services.source_document_update(
        source=SourceDocument.objects.get(short_ref="NIST2024"),
        data={"description": "Retitled"},
        actor=None,
        reason="Test",
    ),
    "mitigation_create": lambda: MitigationFactory(placements=place(node("3.1"))),
    "mitigation_update": lambda: services.mitigation_update(
        mitigation=Mitigation.objects.get(number=9001),
        data={"name": "Renamed"},
        actor=None,
        reason="Test",
    ),
    "mitigation_reclassify": lambda: services.mitigation_reclassify(
        mitigation=Mitigation.objects.get(number=9001),
        taxonomy=Taxonomy.objects.get(slug="airm-preliminary"),
        placements=place(node("3.1")),
        actor=None,
        reason="Test",
    ),
    "mitigation_retire": lambda: services.mitigation_retire(
        mitigation=Mitigation.objects.get(number=9001), actor=None, reason="Test"
    ),
    "mitigation_merge": lambda: services.mitigation_merge(
        mitigation=Mitigation.objects.get(number=9001),
        into=Mitigation.objects.get(number=9002),
        actor=None,
        reason="Test",
    ),
    "mitigation_bulk_upsert": lambda: services.mitigation_bulk_upsert(
        items=[
            services.MitigationUpsert(
                number=9001,
                data={"name": "Renamed in bulk"},
            )
        ],
        actor=None,
        reason="Test",
    ),
    "source_document_bulk_upsert": lambda: services.source_document_bulk_upsert(
        items=[services.SourceDocumentUpsert(short_ref="Bulk2026", data={"title": "Bulk"})],
        actor=None,
        reason="Test",
    ),
    "taxonomy_node_bulk_upsert": lambda: services.taxonomy_node_bulk_upsert(
        items=[
            services.TaxonomyNodeUpsert(
                taxonomy=Taxonomy.objects.get(slug="airm-preliminary"),
                code="9.8",
                data={"name": "Bulk node"},
            )
        ],
        actor=None,
        reason="Test",
    ),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_every_service_changes_the_version(write):
    with Changes():
        WRITES[write]()


def test_restoring_a_record_changes_the_version(record):
    services.mitigation_retire(mitigation=record, actor=None, reason="Test")
    with Changes():
        services.mitigation_restore(mitigation=record, actor=None, reason="Test")


def test_the_version_records_when_the_catalog_changed(record):
    before = version.catalog_version()
    services.mitigation_update(mitigation=record, data={"name": "Renamed"}, actor=None, reason="T")
    record.refresh_from_db()
    after = version.catalog_version()
    assert before.changed_at < after.changed_at
    assert after.changed_at >= record.updated_at


def test_a_refused_write_leaves_the_version_alone(record):
    with Changes(changed=False), pytest.raises(ValidationError):
        services.mitigation_update(mitigation=record, data={"name": ""}, actor=None, reason="T")


def test_a_rolled_back_write_takes_its_version_back_with_it(record):
    before = version.catalog_version()
    with transaction.atomic():
        services.mitigation_update(mitigation=record, data={"name": "Gone"}, actor=None, reason="T")
        assert version.catalog_version() != before
        transaction.set_rollback(True)
    assert version.catalog_version() == before


def test_a_dry_run_import_leaves_the_version_alone(tmp_path):
    path = write_csv(tmp_path / "new.csv", [CATALOG_BASE, ["", "Dry", "", "NIST2024", "Testing"]])
    with Changes(changed=False):
        report, _ = import_one(path, dry_run=True)
    assert report.ok


# --------------------------------------------------------------------------- imports, reverts


def test_an_import_and_its_revert_each_change_the_version(tmp_path, admin):
    path = write_csv(
        tmp_path / "new.csv", [CATALOG_BASE, ["", "Imported", "", "NIST2024", "Testing"]]
    )
    with Changes():
        report, batch = import_one(path, actor=admin)
    assert report.ok
    with Changes():
        import_batch_revert(batch=batch, actor=admin, reason="Wrong file")


def test_a_documents_import_changes_the_version(tmp_path, admin):
    path = write_csv(
        tmp_path / "docs.csv",
        [["ShortRef", "Title", "Type"], ["Imported2026", "An imported document", "Preprint"]],
    )
    with Changes():
        report, _ = import_one(path, kind=ImportKind.DOCUMENTS, actor=admin)
    assert report.ok


# --------------------------------------------------------------------------- review


@pytest.mark.parametrize(
    "kind", [ProposalKind.NEW, ProposalKind.EDIT, ProposalKind.RECLASSIFY, ProposalKind.MERGE]
)
def test_applying_an_approved_proposal_changes_the_version(kind, contributor, curator):
    proposal = new_proposal(contributor, kind=kind)
    with Changes():
        outcome = workflow.proposal_approve(proposal=proposal, actor=curator)
    assert outcome.applied


def test_proposing_alone_does_not_change_the_catalog_version(contributor):
    with Changes(changed=False):
        new_proposal(contributor, kind=ProposalKind.EDIT)


# --------------------------------------------------------------------------- robustness


def test_the_version_survives_a_flushed_cache(record):
    before = version.catalog_version()
    cache.clear()
    assert version.catalog_version() == before


def test_a_database_without_the_row_starts_it_again(record):
    CatalogVersion.objects.all().delete()
    assert version.catalog_version().number == 0
    with Changes():
        services.mitigation_update(
            mitigation=record, data={"name": "Again"}, actor=None, reason="T"
        )
    assert CatalogVersion.objects.count() == 1


# --------------------------------------------------------------------------- cached values


class Counter:
    def __init__(self, value="computed"):
        self.calls = 0
        self.value = value

    def __call__(self):
        self.calls += 1
        return self.value


def test_a_cached_value_is_computed_once_per_version(record):
    compute = Counter()
    assert version.cached("test-value", compute, parts=("a", 1)) == "computed"
    assert version.cached("test-value", compute, parts=("a", 1)) == "computed"
    assert compute.calls == 1
    assert version.cached("test-value", compute, parts=("a", 2)) == "computed"
    assert compute.calls == 2

    services.mitigation_update(mitigation=record, data={"name": "New"}, actor=None, reason="T")
    version.cached("test-value", compute, parts=("a", 1))
    assert compute.calls == 3


def test_none_is_cached_like_any_value():
    compute = Counter(value=None)
    assert version.cached("test-none", compute) is None
    assert version.cached("test-none", compute) is None
    assert compute.calls == 1


def test_a_flushed_cache_is_filled_again():
    compute = Counter()
    version.cached("test-flush", compute)
    cache.clear()
    version.cached("test-flush", compute)
    assert compute.calls == 2


def test_inside_a_write_values_are_computed_and_not_kept(record):
    compute = Counter()
    with version_unit_of_work():
        version.cached("test-inside", compute)
        version.cached("test-inside", compute)
    assert compute.calls == 2


def test_a_write_made_by_a_new_taxonomy_shows_in_values_cached_before():
    def slugs():
        return sorted(Taxonomy.objects.values_list("slug", flat=True))

    assert "fresh" not in version.cached("test-slugs", slugs)
    TaxonomyFactory(slug="fresh")
    assert "fresh" in version.cached("test-slugs", slugs)


def version_unit_of_work():
    from catalog.services._base import _unit_of_work

    return _unit_of_work(actor=None, reason="Test")


class TestCodeFingerprint:
    """Cached pages and validators do not outlive a deploy that changes the code."""

    def test_the_key_names_the_code_as_well_as_the_state(self, settings):
        version = catalog_version()
        assert version.key.endswith("-" + code_fingerprint())
        code_fingerprint.cache_clear()
        settings.CODE_FINGERPRINT = "release-2026.12"
        try:
            assert catalog_version().key == f"{version.number}-{version.token}-release-2026.12"
        finally:
            code_fingerprint.cache_clear()

    def test_the_fingerprint_changes_with_a_template(self, settings, tmp_path):
        (tmp_path / "templates").mkdir()
        page = tmp_path / "templates" / "page.html"
        page.write_text("<p>one</p>")
        settings.BASE_DIR = tmp_path
        code_fingerprint.cache_clear()
        try:
            first = code_fingerprint()
            code_fingerprint.cache_clear()
            page.write_text("<p>two</p>")
            assert code_fingerprint() != first
        finally:
            code_fingerprint.cache_clear()
