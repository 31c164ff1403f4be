"""Import batches: upload → preview → confirm (or cancel) → applied → maybe reverted.

The admin keeps an upload in ``settings.IMPORT_UPLOAD_DIR`` (a private folder, never a served
one) between its preview and its confirmation; the file is deleted as soon as the batch is
applied, cancelled, fails or expires. Only the uploader may confirm or cancel a batch. A
confirm reads the file again and must arrive at exactly the previewed plan (same fingerprint):
if the catalog changed in between, nothing is written and the batch fails with that reason.

The command line (:func:`import_files`) runs the same pipeline on files it is given, without
storing them, and records an applied batch the same way.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from .. import services
from ..models import ImportBatch, ImportKind, RowAction, SourceDocument
from .pipeline import ImportReport, RowPlan, run
from .preview import preview_row, record_report, save_rows
from .readers import FileProblem

STALE_MESSAGE = (
    "The catalog changed between the preview and the confirmation, so the file would no longer "
    "do what the preview showed. Nothing was written; upload the file again for a fresh preview."
)


class _Rollback(Exception):
    """Leave the transaction without committing anything."""


# --------------------------------------------------------------------------- the private folder


def upload_dir() -> Path:
    """The private folder for uploads; refused unless this process alone can enter it (a
    folder in a shared temporary directory could otherwise be someone else's)."""
    folder = Path(settings.IMPORT_UPLOAD_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = folder.lstat()
    if (
        not stat.S_ISDIR(status.st_mode)
        or status.st_uid != os.getuid()
        or stat.S_IMODE(status.st_mode) & 0o077
    ):
        raise ImproperlyConfigured(
            f"IMPORT_UPLOAD_DIR ({folder}) must be a folder owned by this user that no one "
            "else can open (mode 0700), not a link."
        )
    return folder


def stored_path(record) -> Path | None:
    """Where the upload of ``record`` (anything with a ``stored_file`` name) waits, if any."""
    return upload_dir() / record.stored_file if record.stored_file else None


def delete_stored(record) -> None:
    """Delete the upload of ``record`` and forget its name (the caller saves ``record``)."""
    path = stored_path(record)
    if path is not None:
        path.unlink(missing_ok=True)
        record.stored_file = ""


def store_upload(upload) -> tuple[str, str, int]:
    """Copy an uploaded file into the private folder: ``(stored name, sha256, size)``.

    The stored name is random (never the uploader's), the file readable by this process only.
    """
    limit = settings.IMPORT_MAX_BYTES
    name = secrets.token_hex(16) + Path(upload.name or "").suffix.lower()[:10]
    path = upload_dir() / name
    digest, size = hashlib.sha256(), 0
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            for chunk in upload.chunks():
                size += len(chunk)
                if size > limit:
                    raise FileProblem(
                        f"The file is larger than {filesizeformat(limit)}, the most one import "
                        "takes (IMPORT_MAX_BYTES). Split it into several files."
                    )
                digest.update(chunk)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name, digest.hexdigest(), size


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- the admin's steps


def import_batch_expire() -> int:
    """Cancel previews left unconfirmed longer than IMPORT_PREVIEW_HOURS; delete their files."""
    cutoff = timezone.now() - timedelta(hours=settings.IMPORT_PREVIEW_HOURS)
    expired = 0
    stale = ImportBatch.objects.filter(status=ImportBatch.Status.PREVIEWED, created_at__lt=cutoff)
    for batch in stale:
        delete_stored(batch)
        batch.status = ImportBatch.Status.CANCELLED
        batch.note = "The preview expired unconfirmed."
        batch.save(update_fields=["status", "note", "stored_file"])
        expired += 1
    return expired


def import_batch_preview(*, upload, kind: str, actor) -> ImportBatch:
    """Store ``upload``, plan every row (nothing is written to the catalog) and record the
    batch with its per-row plan; a batch with problems or row errors fails at once."""
    import_batch_expire()
    batch = ImportBatch(
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        file_name=Path(upload.name or "upload").name[:255],
        kind=kind,
        status=ImportBatch.Status.PREVIEWED,
    )
    try:
        batch.stored_file, batch.checksum, batch.size = store_upload(upload)
    except FileProblem as problem:
        batch.status = ImportBatch.Status.FAILED
        batch.problems = [str(problem)]
        batch.size = upload.size or 0
        batch.save()
        return batch
    path = stored_path(batch)
    try:
        with transaction.atomic():
            batch.save()

            def store(plans: list[RowPlan]) -> None:
                save_rows([preview_row(batch, plan) for plan in plans])

            report, _ = run(path, file_name=batch.file_name, kind=kind, on_chunk=store)
            record_report(batch, report)
            if not report.ok:
                batch.status = ImportBatch.Status.FAILED
                delete_stored(batch)
            batch.save()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return batch


def _require_uploader(batch: ImportBatch, actor) -> None:
    if batch.created_by_id is None or batch.created_by_id != getattr(actor, "pk", None):
        raise PermissionDenied("Only the person who uploaded this file can confirm or cancel it.")


def import_batch_confirm(*, batch: ImportBatch, actor) -> ImportBatch:
    """Apply a previewed batch in one transaction, exactly as previewed, or not at all."""
    _require_uploader(batch, actor)
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if not batch.can_be_confirmed:
                raise ValidationError(
                    f"Batch {batch.pk} is {batch.get_status_display().lower()}; "
                    "only a previewed batch without errors can be confirmed."
                )
            path = stored_path(batch)
            if path is None or not path.exists():
                raise ValidationError("The uploaded file is gone; upload it again.")
            report, _ = run(
                path,
                file_name=batch.file_name,
                kind=batch.kind,
                apply=True,
                actor=actor,
                reason=batch.reason,
                ref=batch.ref,
            )
            if not report.ok or report.fingerprint != batch.fingerprint:
                batch.note = (
                    STALE_MESSAGE
                    if report.ok
                    else "; ".join(report.problems)
                    or (f"{report.counts[RowAction.ERROR]} rows failed when applying.")
                )
                raise _Rollback
            record_report(batch, report)
            batch.status = ImportBatch.Status.APPLIED
            batch.applied_at = timezone.now()
            delete_stored(batch)
            batch.save()
            return batch
    except _Rollback:
        note = batch.note
        batch = ImportBatch.objects.get(pk=batch.pk)
        batch.status = ImportBatch.Status.FAILED
        batch.note = note
        delete_stored(batch)
        batch.save(update_fields=["status", "note", "stored_file"])
        return batch


def import_batch_cancel(*, batch: ImportBatch, actor) -> ImportBatch:
    _require_uploader(batch, actor)
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != ImportBatch.Status.PREVIEWED:
            raise ValidationError(f"Batch {batch.pk} is not awaiting confirmation.")
        batch.status = ImportBatch.Status.CANCELLED
        batch.note = "Cancelled by the uploader."
        delete_stored(batch)
        batch.save(update_fields=["status", "note", "stored_file"])
    return batch


def import_batch_revert(*, batch: ImportBatch, actor, reason: str) -> dict[str, int]:
    """Undo everything an applied batch changed (see :func:`services.change_set_revert`)."""
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Say why this import is reverted."})
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != ImportBatch.Status.APPLIED:
            raise ValidationError(f"Batch {batch.pk} is not applied, so it cannot be reverted.")
        counts = services.change_set_revert(
            ref=batch.ref,
            actor=actor,
            reason=f"Revert of import batch {batch.pk} ({batch.file_name}): {reason.strip()}",
            revert_ref=batch.revert_ref,
        )
        batch.status = ImportBatch.Status.REVERTED
        batch.reverted_at = timezone.now()
        batch.reverted_by = actor if getattr(actor, "is_authenticated", False) else None
        batch.note = reason.strip()
        batch.save(update_fields=["status", "reverted_at", "reverted_by", "note"])
    return counts


# --------------------------------------------------------------------------- the command line


@dataclass
class FileToImport:
    path: Path
    kind: str


def import_files(
    files: list[FileToImport],
    *,
    actor=None,
    dry_run: bool = False,
    on_chunk=None,
    progress=None,
) -> list[tuple[ImportReport, ImportBatch | None]]:
    """Import ``files`` in order, in one transaction: all of them or none.

    Each applied file is recorded as an applied batch. A dry run writes nothing at all; a
    document file's new documents count as known to the mitigation file that follows it.
    """
    results: list[tuple[ImportReport, ImportBatch | None]] = []
    pending: dict[str, SourceDocument] = {}
    try:
        with transaction.atomic():
            for entry in files:
                batch = None
                reason, ref = "", ""
                # Once a file failed nothing will be kept; the rest is still checked.
                apply = not dry_run and all(report.ok for report, _ in results)
                if apply:
                    batch = ImportBatch.objects.create(
                        created_by=actor if getattr(actor, "is_authenticated", False) else None,
                        file_name=entry.path.name[:255],
                        checksum=file_checksum(entry.path),
                        size=entry.path.stat().st_size,
                        kind=entry.kind,
                        status=ImportBatch.Status.APPLIED,
                    )
                    reason, ref = batch.reason, batch.ref
                report, importer = run(
                    entry.path,
                    file_name=entry.path.name,
                    kind=entry.kind,
                    apply=apply,
                    actor=actor,
                    reason=reason,
                    ref=ref,
                    pending=pending,
                    on_chunk=on_chunk,
                    progress=progress,
                )
                results.append((report, batch))
                if batch is not None:
                    record_report(batch, report)
                    batch.applied_at = timezone.now()
                    batch.save()
                if importer is not None and entry.kind == ImportKind.DOCUMENTS and not apply:
                    pending.update({k: SourceDocument(short_ref=k) for k in importer.new_keys})
            if dry_run or not all(report.ok for report, _ in results):
                raise _Rollback
    except _Rollback:
        return [(report, None) for report, _ in results]
    return results
