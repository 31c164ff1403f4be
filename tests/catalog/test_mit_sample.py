"""MIT's own export files import as they are: documents first, then mitigations.

The files are MIT's (CC BY 4.0) and are not part of this repository: CI and every developer
find them at ``../shared/data/mit-airtable-sample/`` next to the checkout. Without them these
tests are skipped, saying why.
"""

import csv
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.imports.batches import FileToImport, import_files
from catalog.models import (
    ImportBatch,
    ImportKind,
    Mitigation,
    RowAction,
    SourceDocument,
    parse_public_id,
)
from tests.spreadsheets import catalog_state, export_to, history_total, import_one

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mit-airtable-sample"
DOCUMENTS = SAMPLE / "included-documents.csv"
MITIGATIONS = SAMPLE / "mitigations-sample.csv"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (DOCUMENTS.is_file() and MITIGATIONS.is_file()),
        reason=f"MIT's sample export is not at {SAMPLE} (it is not part of the repository)",
    ),
]

DOC_TYPES = {label: value for value, label in SourceDocument.DocType.choices}


def read(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def assert_catalog_holds_the_sample():
    for row in read(DOCUMENTS):
        document = SourceDocument.objects.get(short_ref=row["ShortRef"])
        assert (document.title, document.first_author, document.abstract) == (
            row["Title"],
            row["First author"],
            row["Abstract"],
        )
        assert (document.document_id, document.year) == (int(row["DocumentID"]), int(row["Year"]))
        assert (document.url, document.doi) == (row["URL"], row["DOI"])
        assert document.doc_type == DOC_TYPES[row["Type"]]
    rows = read(MITIGATIONS)
    assert any(not row["Action Definition"] for row in rows)
    for row in rows:
        number = parse_public_id(row["Action ID"])
        mitigation = Mitigation.objects.select_related("source").get(number=number)
        assert mitigation.public_id == row["Action ID"].split("_")[0]
        assert (mitigation.name, mitigation.definition) == (
            row["Action Name"],
            row["Action Definition"],
        )
        assert mitigation.source.short_ref == row["Action Source"]
        (classification,) = mitigation.classifications.select_related("node", "taxonomy")
        assert classification.taxonomy.slug == "airm-preliminary"
        assert row["MitigationCode"].startswith(classification.node.code + " ")


def test_the_sample_imports_exactly_on_the_command_line_and_twice_changes_nothing(admin, tmp_path):
    files = [
        FileToImport(DOCUMENTS, ImportKind.DOCUMENTS),
        FileToImport(MITIGATIONS, ImportKind.MITIGATIONS),
    ]

    (documents, _), (mitigations, batch) = import_files(files, actor=admin)

    assert documents.ok and mitigations.ok, documents.problems + mitigations.problems
    assert (documents.layout, mitigations.layout) == ("documents", "mit")
    assert mitigations.counts[RowAction.NEW] == len(read(MITIGATIONS))
    assert_catalog_holds_the_sample()
    first = Mitigation.objects.get(number=parse_public_id(read(MITIGATIONS)[0]["Action ID"]))
    (row,) = first.history.all()
    assert (row.history_user, row.history_change_reason) == (admin, batch.reason)

    state, history = catalog_state(), history_total()
    again = import_files(files, actor=admin)
    assert [report.counts[RowAction.UNCHANGED] for report, _ in again] == [
        len(read(DOCUMENTS)),
        len(read(MITIGATIONS)),
    ]
    assert (catalog_state(), history_total()) == (state, history)

    for fmt in ("csv", "xlsx", "json"):
        exported = export_to(tmp_path / f"sample.{fmt}", Mitigation.objects.filter(number__lt=9000))
        report, _ = import_one(exported, actor=admin)
        assert report.counts[RowAction.UNCHANGED] == len(read(MITIGATIONS)), fmt
    assert (catalog_state(), history_total()) == (state, history)


def test_the_sample_imports_through_the_admin_documents_first(
    client_for, admin, settings, tmp_path, run_tasks
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    client = client_for(admin)
    for kind, path in ((ImportKind.DOCUMENTS, DOCUMENTS), (ImportKind.MITIGATIONS, MITIGATIONS)):
        upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")
        response = client.post(
            reverse("admin:catalog_importbatch_upload"), {"kind": kind, "file": upload}
        )
        batch = ImportBatch.objects.latest("pk")
        assert response.status_code == 302, response.content
        assert batch.status == ImportBatch.Status.PREVIEWED, batch.problems or batch.summary
        client.post(reverse("admin:catalog_importbatch_confirm", args=[batch.pk]))
        assert run_tasks() == 1
        batch.refresh_from_db()
        assert batch.status == ImportBatch.Status.APPLIED, batch.note

    assert_catalog_holds_the_sample()
    assert not any((tmp_path / "uploads").iterdir())
