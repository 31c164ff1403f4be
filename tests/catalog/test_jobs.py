"""Background jobs (catalog/jobs): the progress page and its JSON, failures that say why and
are retried, a real worker process, and a worker killed mid-task that loses nothing."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from catalog.imports.batches import import_batch_confirm, import_batch_preview
from catalog.jobs import job_stalled
from catalog.models import ImportBatch, ImportKind, Job, Mitigation
from tests.spreadsheets import MIT_MITIGATION_HEADER, catalog_state, history_total

WAIT = 600  # seconds: generous, the machine may be shared and slow


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "private-uploads"
    return settings.IMPORT_UPLOAD_DIR


def sheet(rows: int, first: int = 70000) -> SimpleUploadedFile:
    lines = [MIT_MITIGATION_HEADER] + [
        [f"A{first + n}", f"Background idea {n}", f"Definition {n}", "NIST2024", "3.1"]
        for n in range(rows)
    ]
    text = "\n".join(",".join(f'"{cell}"' for cell in line) for line in lines)
    return SimpleUploadedFile("big.csv", text.encode(), content_type="text/csv")


def confirmed(admin, rows: int) -> tuple[ImportBatch, Job]:
    batch = import_batch_preview(upload=sheet(rows), kind=ImportKind.MITIGATIONS, actor=admin)
    assert batch.status == ImportBatch.Status.PREVIEWED, batch.problems or batch.summary
    return batch, import_batch_confirm(batch=batch, actor=admin)


def imported(rows: int, first: int = 70000) -> int:
    return Mitigation.objects.filter(number__gte=first, number__lt=first + rows).count()


def wait_until(condition, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"Timed out waiting for {what}.")


# --------------------------------------------------------------------------- the page


@pytest.mark.django_db
def test_the_job_page_follows_the_work_with_and_without_javascript(client_for, admin, run_tasks):
    _, job = confirmed(admin, 3)
    client = client_for(admin)

    page = client.get(job.get_absolute_url())
    assert page.status_code == 200
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page.text
    assert 'src="/static/js/job-progress.js"' in page.text
    assert "<script>" not in page.text  # no inline script (a strict CSP allows none)
    assert 'data-progress-url="/jobs/' in page.text
    assert "0 of 3 rows done (0%)" in page.text
    state = client.get(reverse("catalog:job-progress", args=[job.pk])).json()
    assert state == {
        "status": "queued",
        "status_label": "Waiting for a worker",
        "done": 0,
        "total": 3,
        "unit": "rows",
        "percent": 0,
        "finished": False,
        "stalled": False,
    }

    assert run_tasks() == 1
    page = client.get(job.get_absolute_url())
    assert "Applied: 3 new, 0 changed, 0 unchanged" in page.text
    assert "http-equiv" not in page.text and "job-progress.js" not in page.text
    state = client.get(reverse("catalog:job-progress", args=[job.pk])).json()
    assert (state["status"], state["done"], state["percent"], state["finished"]) == (
        "done",
        3,
        100,
        True,
    )


@pytest.mark.django_db
def test_only_its_starter_sees_a_job(client_for, admin, curator, contributor, client):
    _, job = confirmed(admin, 1)
    for user in (curator, contributor):
        assert client_for(user).get(job.get_absolute_url()).status_code == 404
        progress = reverse("catalog:job-progress", args=[job.pk])
        assert client_for(user).get(progress).status_code == 404
    assert client.get(job.get_absolute_url())["Location"].startswith("/accounts/login/")
    assert client_for(admin).post(job.get_absolute_url()).status_code == 405


# --------------------------------------------------------------------------- failures and retries


@pytest.mark.django_db
def test_a_failed_task_records_why_writes_nothing_and_is_retried_by_its_starter(
    client_for, admin, upload_dir, run_tasks, django_user_model
):
    batch, job = confirmed(admin, 5)
    state, history = catalog_state(), history_total()
    upload_dir.chmod(0o755)  # the uploads storage is refused: the task cannot read the file

    assert run_tasks() == 1

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "must be a folder owned by this user that no one else can open" in job.error
    assert (catalog_state(), history_total()) == (state, history)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLYING and batch.stored_file  # kept for a retry
    page = client_for(admin).get(job.get_absolute_url())
    assert "It failed; nothing was written" in page.text and "Retry" in page.text
    other = django_user_model.objects.create_superuser("otto-admin", "otto@example.org", "x")
    assert "Retry" not in client_for(other).get(job.get_absolute_url()).text
    retry = reverse("catalog:job-retry", args=[job.pk])
    assert client_for(other).post(retry).status_code == 403
    assert client_for(admin).get(retry).status_code == 405

    upload_dir.chmod(0o700)
    assert client_for(admin).post(retry)["Location"] == job.get_absolute_url()
    assert run_tasks() == 1

    job.refresh_from_db()
    batch.refresh_from_db()
    assert (job.status, job.attempts, job.error) == (Job.Status.DONE, 2, "")
    assert batch.status == ImportBatch.Status.APPLIED
    assert imported(5) == 5
    assert "This work is done" in client_for(admin).post(retry, follow=True).text


# --------------------------------------------------------------------------- real workers


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_process_applies_a_confirmed_import(admin, worker):
    rows = 3000
    batch, job = confirmed(admin, rows)
    process = worker()

    seen = []

    def finished():
        job.refresh_from_db()
        if job.status == Job.Status.RUNNING:
            seen.append(job.done)
        return job.finished

    wait_until(finished, "the worker to finish the job")
    assert job.status == Job.Status.DONE, job.error + process.output()[-3000:]
    assert job.worker.endswith(f":{process.pid}")  # the worker process that ran it
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED and batch.stored_file == ""
    assert imported(rows) == rows
    assert (job.done, job.total) == (rows, rows)
    assert f"Job {job.pk} ({job.title}) done" in process.output()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_task_loses_nothing_and_the_retry_completes(admin, worker, client_for):
    rows = 20000
    batch, job = confirmed(admin, rows)
    state, history = catalog_state(), history_total()
    first = worker()

    def running():
        job.refresh_from_db()
        if connection.vendor == "postgresql":
            # PostgreSQL shows the rows done while the import's transaction is open.
            return job.status == Job.Status.RUNNING and job.done > 0
        return job.status == Job.Status.RUNNING

    wait_until(running, "the worker to be mid-way through the import")
    first.kill()

    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING  # it did not finish: it was killed mid-task
    assert job_stalled(job)
    assert (catalog_state(), history_total()) == (state, history)  # nothing half-written
    assert imported(rows) == 0
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLYING and batch.stored_file
    client = client_for(admin)
    page = client.get(job.get_absolute_url())
    assert "The worker running this stopped before it finished" in page.text
    assert client.post(reverse("catalog:job-retry", args=[job.pk])).status_code == 302

    second = worker()
    wait_until(lambda: Job.objects.get(pk=job.pk).finished, "the retried job to finish")

    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.error + second.output()[-3000:]
    assert job.attempts == 2
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED
    assert imported(rows) == rows
    assert history_total() == history + 2 * rows  # each record's and classification's, once
