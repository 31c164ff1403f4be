"""Background jobs: long work enqueued as a Django task, followed on a progress page.

Why: applying a large import, proposing a contributor's spreadsheet or deciding a batch of
hundreds of proposals takes longer than a request should. The request records a
:class:`~catalog.models.Job` and enqueues its task in the same transaction
(:func:`job_start`), then answers at once with the job's page. A worker process (django-tasks-db's
``manage.py db_worker``) runs the task, which calls :func:`job_run` with the work itself:

- the job is claimed (queued → running) exactly once, so a duplicate task does nothing;
- the work reports progress through :class:`Progress`, which a helper thread writes to the job
  row on its own database connection, outside the work's transaction (so a page can show it
  while the work's own writes stay uncommitted, all or nothing);
- the work returns its report (lines to show, a next address); an exception marks the job
  failed with the reason. The work is atomic, so a failure left nothing half-written, and
  :func:`job_retry` (the person who started it) enqueues it again.

A worker killed mid-task leaves its job "running" with no one behind it: :func:`job_stalled`
tells that from a busy worker (the worker's process is gone on this host, or it has not
reported for ``JOB_STALLED_AFTER`` seconds), and such a job can be retried as a failed one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from ..models import Job, JobStatus

logger = logging.getLogger("catalog.jobs")

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
FLUSH_SECONDS = 1.0


def _this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --------------------------------------------------------------------------- starting


def job_start(
    *,
    task,
    title: str,
    subject: str,
    actor,
    total: int = 0,
    unit: str = "rows",
    params: dict | None = None,
    next_url: str = "",
) -> Job:
    """Record a job and enqueue ``task`` (a Django task taking the job's id) for it, in one
    transaction: with the caller's own state change, all of it happens or none."""
    with transaction.atomic():
        job = Job.objects.create(
            title=title[:200],
            subject=subject,
            task_path=task.module_path,
            params=params or {},
            created_by=actor,
            total=total,
            unit=unit,
            next_url=next_url[:200],
        )
        job.task_id = str(task.enqueue(job.pk).id)
        job.save(update_fields=["task_id"])
    logger.info("Queued job %s (%s) for %s", job.pk, job.title, actor)
    return job


def job_active_for(subject: str) -> Job | None:
    """The job queued or running on ``subject``, if any."""
    return Job.objects.filter(subject=subject, status__in=ACTIVE).order_by("-pk").first()


def job_latest_for(subject: str) -> Job | None:
    return Job.objects.filter(subject=subject).order_by("-pk").first()


# --------------------------------------------------------------------------- running


class Progress:
    """What the work reports: ``progress(done, total)`` (the import pipeline's signature).

    The main thread only sets numbers; a helper thread writes them (and a heartbeat) to the
    job row every second on its own connection, so they are visible while the work's
    transaction is open. On SQLite, whose one writer is the work itself, those writes wait
    (and are skipped) until the work commits; the final numbers are written by :func:`job_run`.
    """

    def __init__(self, job: Job):
        self.job_id = job.pk
        self.done = job.done
        self.total = job.total
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flush_loop, daemon=True)

    def __call__(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total:
            self.total = total

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _flush_loop(self) -> None:
        try:
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:  # fail fast instead of waiting 20 s
                    cursor.execute("PRAGMA busy_timeout = 50")
            while not self._stop.wait(FLUSH_SECONDS):
                self._flush()
        finally:
            connection.close()

    def _flush(self) -> None:
        try:
            Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                done=self.done, total=self.total, heartbeat_at=timezone.now()
            )
        except DatabaseError as error:  # locked (SQLite) or gone: the next tick tries again
            logger.debug("Job %s: progress not written (%s)", self.job_id, error)
            close_old_connections()


class JobFailed(Exception):
    """Raised by work to fail its job with a message for the person following it."""


def job_run(job_id: int, work: Callable[[Job, Progress], dict]) -> dict | None:
    """Run ``work(job, progress)`` for a queued job, record its report or why it failed."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        finished_at=None,
        attempts=F("attempts") + 1,
        worker=_this_worker()[:200],
        error="",
    )
    if not claimed:
        logger.info("Job %s is not waiting (done, or run by another worker): skipped", job_id)
        return None
    job = Job.objects.select_related("created_by").get(pk=job_id)
    logger.info("Job %s (%s) started, attempt %s", job.pk, job.title, job.attempts)
    try:
        with Progress(job) as progress:
            result = work(job, progress)
    except Exception as error:
        reason = (
            str(error)
            if isinstance(error, JobFailed | ValidationError)
            else (f"{type(error).__name__}: {error}")
        )
        if isinstance(error, ValidationError):
            reason = " ".join(error.messages)
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error=reason[:5000], finished_at=timezone.now()
        )
        logger.exception("Job %s (%s) failed: %s", job.pk, job.title, reason)
        raise
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE,
        done=progress.total or progress.done,
        total=progress.total or progress.done,
        result=result or {},
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    logger.info("Job %s (%s) done", job.pk, job.title)
    return result


# --------------------------------------------------------------------------- stalls and retries


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def job_stalled(job: Job) -> bool:
    """Whether a running job has no live worker behind it: its worker's process is gone (a
    worker on this host), or it has not reported for JOB_STALLED_AFTER seconds (elsewhere)."""
    if job.status != JobStatus.RUNNING:
        return False
    host, _, pid = job.worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return _process_gone(int(pid))
    last = job.heartbeat_at or job.started_at
    return last is None or last < timezone.now() - timedelta(seconds=settings.JOB_STALLED_AFTER)


def can_retry(job: Job, user) -> bool:
    return getattr(user, "pk", None) == job.created_by_id and (
        job.status == JobStatus.FAILED or job_stalled(job)
    )


def job_retry(*, job: Job, actor) -> Job:
    """Enqueue a failed (or stalled) job's task again; only its starter may."""
    if getattr(actor, "pk", None) != job.created_by_id:
        raise PermissionDenied("Only the person who started this work can retry it.")
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if not (job.status == JobStatus.FAILED or job_stalled(job)):
            raise ValidationError(
                "This work is not failed or stalled, so there is nothing to retry."
                if job.status != JobStatus.DONE
                else "This work is done; there is nothing to retry."
            )
        job.status = JobStatus.QUEUED
        job.done = 0
        job.worker = ""
        task = import_string(job.task_path)
        job.task_id = str(task.enqueue(job.pk).id)
        job.save(update_fields=["status", "done", "worker", "task_id"])
    logger.info("Job %s (%s) queued again by %s", job.pk, job.title, actor)
    return job


def job_visible_to(job: Job, user) -> bool:
    return bool(user.is_authenticated and (user.pk == job.created_by_id or user.is_superuser))
