"""Import batches: upload → preview → confirm (or cancel) → applied → maybe reverted.

The admin keeps an upload in the private "uploads" storage (:mod:`catalog.imports.uploads`)
between its preview and its confirmation; the file is deleted as soon as the batch is
applied, cancelled, fails or expires. Only the uploader may confirm or cancel a batch. A
confirm hands the batch to a background worker (:mod:`catalog.imports.tasks`), which reads the
file again and must arrive at exactly the previewed plan (same fingerprint): if the catalog
changed in between, nothing is written and the batch fails with that reason.

The command line (:func:`import_files`) runs the same pipeline on files it is given, without
storing them, and records an applied batch the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .. import services
from ..models import ImportBatch, ImportKind, RowAction, SourceDocument
from .pipeline import ImportReport, RowPlan, run
from .preview import preview_row, record_report, save_rows
from .readers import FileProblem
from .uploads import delete_stored, file_checksum, store_upload, stored_copy, uploads_expire

STALE_MESSAGE = (
    "The catalog changed between the preview and the confirmation, so the file would no longer "
    "do what the preview showed. Nothing was written; upload the file again for a fresh preview."
)


class _Rollback(Exception):
    """Leave the transaction without committing anything."""


# --------------------------------------------------------------------------- the admin's steps


def import_batch_expire() -> int:
    """Cancel previews left unconfirmed longer than IMPORT_PREVIEW_HOURS; delete their files
    (those of contributors' uploads too: one expiry for every upload)."""
    return uploads_expire()


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
    try:
        with transaction.atomic(), stored_copy(batch) as path:
            assert path is not None, "a batch that passed the upload checks has its file"
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
        delete_stored(batch)
        raise
    return batch


def _require_uploader(batch: ImportBatch, actor) -> None:
    if batch.created_by_id is None or batch.created_by_id != getattr(actor, "pk", None):
        raise PermissionDenied("Only the person who uploaded this file can confirm or cancel it.")


def import_batch_confirm(*, batch: ImportBatch, actor):
    """Confirm a previewed batch: it is applied in the background (:func:`import_batch_apply`
    in a worker). Returns the :class:`~catalog.models.Job` whose page follows it."""
    from ..jobs import job_start
    from .tasks import apply_import_batch

    _require_uploader(batch, actor)
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if not batch.can_be_confirmed:
            raise ValidationError(
                f"Batch {batch.pk} is {batch.get_status_display().lower()}; "
                "only a previewed batch without errors can be confirmed."
            )
        batch.status = ImportBatch.Status.APPLYING
        batch.save(update_fields=["status"])
        return job_start(
            task=apply_import_batch,
            title=f"Import of {batch.file_name} (batch {batch.pk})",
            subject=batch.ref,
            actor=actor,
            total=batch.rows_total,
            unit="rows",
            next_url=reverse("admin:catalog_importbatch_change", args=[batch.pk]),
        )


def import_batch_apply(*, batch: ImportBatch, actor, progress=None) -> ImportBatch:
    """Apply a confirmed batch in one transaction, exactly as previewed, or not at all.

    If the file now plans differently (the catalog changed since the preview) or fails, the
    batch fails with the reason and its file is deleted. Any other error (the database went
    away, the worker was killed) leaves the batch confirmed with its file, to be retried.
    """
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if batch.status != ImportBatch.Status.APPLYING:
                return batch  # applied (or failed) by an earlier attempt
            with stored_copy(batch) as path:
                if path is None:
                    batch.note = "The uploaded file is gone; upload it again."
                    raise _Rollback
                report, _ = run(
                    path,
                    file_name=batch.file_name,
                    kind=batch.kind,
                    apply=True,
                    actor=actor,
                    reason=batch.reason,
                    ref=batch.ref,
                    progress=progress,
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
    taxonomy: str = ""  # a nodes file: the taxonomy it is for (see pipeline.prepare)


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
                    taxonomy=entry.taxonomy,
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
