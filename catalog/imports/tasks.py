"""Background tasks of imports (run by the worker: ``manage.py db_worker``)."""

from __future__ import annotations

from django.tasks import task
from django.urls import reverse

from ..jobs import job_run
from ..models import ImportBatch


@task()
def apply_import_batch(job_id: int) -> dict | None:
    """Apply the confirmed import batch of job ``job_id`` (see :func:`import_batch_apply`)."""
    return job_run(job_id, _apply)


def _apply(job, progress) -> dict:
    from .batches import import_batch_apply

    batch = ImportBatch.objects.get(pk=int(job.subject.removeprefix("import-batch:")))
    batch = import_batch_apply(batch=batch, actor=job.created_by, progress=progress)
    url = reverse("admin:catalog_importbatch_change", args=[batch.pk])
    link = f"Back to import batch {batch.pk}"
    if batch.status == ImportBatch.Status.APPLIED:
        return {
            "lines": [
                [
                    "success",
                    f"Applied: {batch.rows_new:,} new, {batch.rows_changed:,} changed, "
                    f"{batch.rows_unchanged:,} unchanged. Every change is in the history as "
                    f"“{batch.reason}”.",
                ]
            ],
            "url": url,
            "link": link,
        }
    return {
        "lines": [["error", batch.note or "The import failed; nothing was written."]],
        "url": url,
        "link": link,
    }
