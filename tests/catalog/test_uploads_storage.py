"""Uploads awaiting confirmation live in the "uploads" storage (catalog/imports/uploads.py):
stored and read back through Django's storage API, expired, and orphans cleaned up."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from catalog.imports.batches import import_batch_preview
from catalog.imports.uploads import (
    PrivateFolderStorage,
    delete_stored,
    store_upload,
    stored_copy,
    uploads_storage,
)
from catalog.models import ImportBatch, ImportKind
from review import bulk
from review.models import ProposalUpload, UploadStatus
from tests.spreadsheets import MIT_MITIGATION_HEADER

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "private-uploads"
    return settings.IMPORT_UPLOAD_DIR


def sheet(name="m.csv") -> SimpleUploadedFile:
    rows = [MIT_MITIGATION_HEADER, ["A7000", "An idea", "", "NIST2024", "3.1"]]
    text = "\n".join(",".join(row) for row in rows)
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_the_default_storage_is_the_private_folder():
    storage = uploads_storage()
    assert isinstance(storage, PrivateFolderStorage)
    with pytest.raises(ValueError, match="private"):
        storage.url("x.csv")


def test_an_upload_is_stored_under_a_random_name_and_read_back_through_the_storage(
    upload_dir,
):
    name, digest, size = store_upload(sheet("Our sheet.CSV"))
    assert name.endswith(".csv") and "sheet" not in name
    assert (upload_dir / name).stat().st_mode & 0o777 == 0o600
    assert size == len(sheet().read()) and len(digest) == 64

    class Record:
        stored_file = name

    with stored_copy(Record) as path:
        assert path.read_bytes() == sheet().read()
        assert not path.is_relative_to(upload_dir)  # a temporary copy, not the stored file
    assert not path.exists()
    delete_stored(Record)
    assert Record.stored_file == "" and not (upload_dir / name).exists()
    with stored_copy(Record) as missing:
        assert missing is None


def test_cleanup_expires_old_previews_of_both_purposes_and_deletes_orphans(
    admin, contributor, settings, upload_dir
):
    batch = import_batch_preview(upload=sheet(), kind=ImportKind.MITIGATIONS, actor=admin)
    upload = bulk.proposal_upload_preview(upload=sheet(), actor=contributor)
    fresh = import_batch_preview(upload=sheet(), kind=ImportKind.MITIGATIONS, actor=admin)
    assert batch.stored_file and upload.stored_file and fresh.stored_file
    old = timezone.now() - timedelta(hours=settings.IMPORT_PREVIEW_HOURS + 1)
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=old)
    ProposalUpload.objects.filter(pk=upload.pk).update(created_at=old)
    # A killed request stored a file and never recorded it; another is being recorded now.
    orphan, _, _ = store_upload(sheet())
    young, _, _ = store_upload(sheet())
    hour_ago = time.time() - 2 * 3600
    os.utime(upload_dir / orphan, (hour_ago, hour_ago))

    out = StringIO()
    call_command("cleanup_uploads", stdout=out)

    assert out.getvalue().strip() == "Expired previews: 2; orphaned files deleted: 1."
    batch.refresh_from_db()
    upload.refresh_from_db()
    assert (batch.status, batch.stored_file) == (ImportBatch.Status.CANCELLED, "")
    assert (upload.status, upload.stored_file) == (UploadStatus.CANCELLED, "")
    assert sorted(p.name for p in upload_dir.iterdir()) == sorted([fresh.stored_file, young])
