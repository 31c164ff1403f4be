"""The shipped reference data and demo content, and the loader that puts them in place."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from catalog import services
from catalog.models import (
    Classification,
    ImportKind,
    Mitigation,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
)
from catalog.reference_data import FIXTURES_DIR, load_reference_data
from tests.spreadsheets import MIT_DOCUMENT_HEADER, import_one, write_csv

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]

BRIEF = {
    "Adversarial training": ("2.3", "1.1.2"),
    "Robustness certificates": ("3.1", "2.2.2"),
    "Restrict web access during AI training": ("2.3", "1.2.2"),
    "Cost-inducing training of AI models specifically for malicious use": ("2.X", "1.1.3"),
    "Calibrated confidence measures for model predictions": ("2.3", "1.2.9"),
    "Incorporating the estimation of atypical input samples or classes for better model "
    "reliability": ("2.3", "1.2.3"),
}

FILES = ("documents.json", "taxonomies.json", "demo_mitigations.json")
CURATED = (Taxonomy, TaxonomyNode, SourceDocument, Mitigation, Classification)


def history_total():
    return sum(model.history.count() for model in CURATED)


def codes(slug, **filters):
    return set(
        TaxonomyNode.objects.filter(taxonomy__slug=slug, **filters).values_list("code", flat=True)
    )


def test_the_mit_taxonomy_has_four_categories_23_subcategories_and_four_catch_alls():
    assert codes("airm-preliminary", parent__isnull=True) == {"1", "2", "3", "4", "X.X"}
    subcategories = codes("airm-preliminary", parent__isnull=False, is_catch_all=False)
    assert len(subcategories) == 23
    assert codes("airm-preliminary", is_catch_all=True) == {"1.X", "2.X", "3.X", "X.X"}
    node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="3.1")
    assert (node.name, node.parent.code) == ("Testing & Auditing", "3")


def test_the_draft_taxonomy_has_three_levels_and_its_other_nodes():
    draft = Taxonomy.objects.get(slug="airm-draft")
    assert draft.status == Taxonomy.Status.DRAFT
    assert {"1", "2", "3", "99.9"} == codes("airm-draft", parent__isnull=True)
    assert TaxonomyNode.objects.get(taxonomy=draft, code="1.1.3").path == "/1/1.1/1.1.3/"
    assert {"1.2.9", "99.9"} <= codes("airm-draft", is_catch_all=True)


def test_the_three_vocabularies_are_taxonomies_like_the_others():
    vocabularies = Taxonomy.objects.filter(kind=Taxonomy.Kind.VOCABULARY)
    assert set(vocabularies.values_list("slug", flat=True)) == {
        "lifecycle",
        "actor",
        "rmf-function",
    }
    assert len(codes("lifecycle")) == 7
    assert len(codes("actor")) == 6
    assert len(codes("rmf-function")) == 5


def test_every_node_has_a_definition():
    assert not TaxonomyNode.objects.filter(definition="").exists()


def test_the_thirteen_source_documents_are_loaded():
    assert SourceDocument.objects.count() == 13
    source = SourceDocument.objects.get(short_ref="Gipiškis2024")
    assert (source.document_id, source.year, source.doc_type) == (15, 2024, "preprint")
    assert source.doi == "10.48550/arXiv.2410.23472"
    assert SourceDocument.objects.get(short_ref="Wiener2024").doc_type == "legislation"


def test_the_demo_spans_every_category_and_at_least_six_sources():
    active = Mitigation.objects.active()
    assert active.count() >= 40
    assert active.values("source").distinct().count() >= 6
    categories = {
        path.split("/")[1]
        for path in Classification.objects.filter(taxonomy__slug="airm-preliminary").values_list(
            "node__path", flat=True
        )
    }
    assert {"1", "2", "3", "4"} <= categories
    unclassified = active.exclude(classifications__taxonomy__slug="airm-preliminary")
    assert not unclassified.exists()


@pytest.mark.parametrize("name", BRIEF)
def test_the_brief_examples_are_classified_in_both_taxonomies(name):
    mitigation = Mitigation.objects.get(name=name)
    placed = {
        c.taxonomy.slug: c.node.code
        for c in mitigation.classifications.select_related("taxonomy", "node")
    }
    assert (placed["airm-preliminary"], placed["airm-draft"]) == BRIEF[name]
    assert {"lifecycle", "actor", "rmf-function"} <= set(placed)
    assert mitigation.source.short_ref == "Gipiškis2024"
    assert mitigation.section_path


def test_the_demo_shows_a_retired_and_a_merged_record_that_still_resolve(client):
    retired = Mitigation.objects.get(number=9058)
    merged = Mitigation.objects.get(number=9059)
    assert retired.status == Mitigation.Status.RETIRED
    assert "dropped from the bill" in retired.status_note
    assert merged.status == Mitigation.Status.MERGED
    assert merged.merged_into.public_id == "A9001"
    assert "was retired" in client.get(retired.get_absolute_url()).text
    assert "This record was merged into" in client.get(merged.get_absolute_url()).text
    assert "Merged into this record" in client.get(merged.merged_into.get_absolute_url()).text
    # Their history says they came with the demo, as created and then retired or merged.
    assert [row.history_type for row in merged.history.order_by("history_date")] == ["+", "~"]
    assert merged.history.first().history_change_reason.startswith("Demo content")


def test_the_first_load_recorded_why_in_the_history():
    taxonomy = Taxonomy.objects.get(slug="airm-preliminary")
    assert taxonomy.history.get().history_change_reason == "Reference data: taxonomies.json"
    mitigation = Mitigation.objects.get(name="Adversarial training")
    assert mitigation.history.get().history_change_reason == "Demo content: demo_mitigations.json"


def test_loading_again_changes_nothing_and_writes_no_history():
    before = history_total()
    report = load_reference_data(with_demo=True)
    assert report.lines() == ["nothing to do"]
    assert history_total() == before


def test_loading_again_keeps_curators_changes_and_sync_never_overwrites_them(curator):
    mitigation = Mitigation.objects.get(name="Adversarial training")
    services.mitigation_update(
        mitigation=mitigation,
        data={"name": "Adversarial training, revised"},
        actor=curator,
        reason="Curated",
    )
    report = load_reference_data(with_demo=True)
    assert Mitigation.objects.get(pk=mitigation.pk).name == "Adversarial training, revised"
    assert not any("--sync updates" in line for line in report.lines())
    before = history_total()

    synced = load_reference_data(with_demo=True, sync=True)
    assert Mitigation.objects.get(pk=mitigation.pk).name == "Adversarial training, revised"
    assert history_total() == before
    (kept,) = synced.kept
    assert (kept.record, kept.field) == (
        f"{mitigation.public_id} Adversarial training, revised",
        "name",
    )
    assert "Curated" in kept.written_by and "Cecil" in kept.written_by
    assert synced.lines(verbose=True)[-1].startswith(f"  demo mitigations A{mitigation.number}")


def newer_fixtures(tmp_path, change):
    """A copy of fixtures/ with ``change(documents, taxonomies, demo)`` applied, as a newer
    release of the fixtures would be."""
    data = {name: json.loads((FIXTURES_DIR / name).read_text(encoding="utf-8")) for name in FILES}
    change(data["documents.json"], data["taxonomies.json"], data["demo_mitigations.json"])
    for name, content in data.items():
        (tmp_path / name).write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return tmp_path


def by_key(entries, key, value):
    return next(entry for entry in entries if entry[key] == value)


def test_sync_brings_what_the_loader_wrote_in_line_with_newer_fixtures(tmp_path):
    def change(documents, taxonomies, demo):
        by_key(documents, "short_ref", "NIST2024")["title"] = "A newer title for NIST AI 600-1"
        preliminary = by_key(taxonomies, "slug", "airm-preliminary")
        preliminary["nodes"][0]["definition"] = "Newer wording of the governance category."
        by_key(demo, "name", "Adversarial training")["definition"] = "Newer demo wording."

    fixtures = newer_fixtures(tmp_path, change)
    report = load_reference_data(with_demo=True, fixtures_dir=fixtures)
    assert (
        SourceDocument.objects.get(short_ref="NIST2024").title != "A newer title for NIST AI 600-1"
    )
    assert "source documents: 0 created, 0 updated, 1 differ from newer fixtures" in "\n".join(
        report.lines()
    )
    assert report.stale == {"source documents": 1, "taxonomy nodes": 1, "demo mitigations": 1}

    synced = load_reference_data(with_demo=True, sync=True, fixtures_dir=fixtures)
    assert synced.updated == {"source documents": 1, "taxonomy nodes": 1, "demo mitigations": 1}
    assert synced.kept == []
    document = SourceDocument.objects.get(short_ref="NIST2024")
    assert document.title == "A newer title for NIST AI 600-1"
    assert document.history.first().history_change_reason == "Reference data: documents.json"
    node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="1")
    assert node.definition == "Newer wording of the governance category."
    assert Mitigation.objects.get(name="Adversarial training").definition == "Newer demo wording."


def test_after_an_import_sync_keeps_every_imported_value(tmp_path, curator):
    # MIT's real export differs from our fixtures' wording: importing it, then following the
    # loader's hint, must not bring our wording back over MIT's.
    document = SourceDocument.objects.get(short_ref="NIST2024")
    rows = [
        MIT_DOCUMENT_HEADER,
        [
            "NIST2024",
            str(document.document_id or 1),
            "MIT's own title of the NIST profile",
            document.first_author,
            str(document.year),
            "MIT's own abstract.",
            document.description,
            document.url,
            document.doi,
            document.get_doc_type_display(),
        ],
    ]
    report, batch = import_one(
        write_csv(tmp_path / "included-documents.csv", rows),
        kind=ImportKind.DOCUMENTS,
        actor=curator,
    )
    assert batch is not None, report

    def change(documents, taxonomies, demo):
        # A newer fixture also rewords the description, which the import did not touch.
        by_key(documents, "short_ref", "NIST2024")["description"] = "Newer fixture description."

    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    newer_fixtures(fixtures, change)
    hint = load_reference_data(fixtures_dir=fixtures)
    kept_line = next(line for line in hint.lines() if line.startswith("kept:"))
    assert "an import or a curator wrote them; they stay as they are" in kept_line

    synced = load_reference_data(sync=True, fixtures_dir=fixtures)
    document.refresh_from_db()
    assert document.title == "MIT's own title of the NIST profile"
    assert document.abstract == "MIT's own abstract."
    assert document.description == "Newer fixture description."
    assert {(kept.record, kept.field) for kept in synced.kept} == {
        ("NIST2024", "title"),
        ("NIST2024", "abstract"),
    }
    assert all("Import of included-documents.csv" in kept.written_by for kept in synced.kept)


def test_the_command_lists_what_it_keeps_at_verbosity_2(capsys, curator):
    source = SourceDocument.objects.get(short_ref="NIST2024")
    services.source_document_update(
        source=source, data={"title": "Curated title"}, actor=curator, reason="Fix the title"
    )
    call_command("load_reference_data", "--sync")
    out = capsys.readouterr().out
    assert "kept: 1 value in 1 record" in out and "(--verbosity 2 lists them)" in out
    call_command("load_reference_data", "--sync", verbosity=2)
    out = capsys.readouterr().out
    assert "  source documents NIST2024: title (Fix the title, by Cecil" in out
    assert SourceDocument.objects.get(pk=source.pk).title == "Curated title"


def test_demo_accounts_have_their_roles():
    User = get_user_model()
    assert User.objects.get(username="demo-admin").is_superuser
    assert User.objects.get(username="demo-curator").groups.filter(name="Curators").exists()
    contributor = User.objects.get(username="demo-contributor")
    assert not contributor.is_staff
    assert not contributor.groups.exists()


def test_the_command_reports_what_it_did(capsys):
    call_command("load_reference_data")
    assert "nothing to do" in capsys.readouterr().out


@pytest.mark.slow
def test_a_fresh_database_gets_demo_accounts_only_when_asked(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "airm_site.settings",
    }

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    manage("migrate", "--noinput", "-v0")
    first = manage("load_reference_data")
    assert "taxonomies: 5 created" in first
    assert "source documents: 13 created" in first
    assert "demo" not in first
    users = "from django.contrib.auth.models import User; print(User.objects.count())"
    assert manage("shell", "--no-imports", "-c", users).strip() == "0"
    demo = manage("load_reference_data", "--with-demo")
    assert "demo accounts: 5 created" in demo
    assert "demo-curator" in demo
    assert "nothing to do" in manage("load_reference_data", "--with-demo")
