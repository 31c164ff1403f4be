"""A background job's page: progress (numbers, a bar; refreshed without JavaScript, live with
it), then the report or why it failed, with a retry for its starter."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from ..models import Job
from . import can_retry, job_retry, job_stalled, job_visible_to

REFRESH_SECONDS = 2


def _visible_job(request, pk: int) -> Job:
    job = Job.objects.select_related("created_by").filter(pk=pk).first()
    if job is None or not job_visible_to(job, request.user):
        raise Http404("No such job.")
    return job


def _state(job: Job) -> dict:
    stalled = job_stalled(job)
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "done": job.done,
        "total": job.total,
        "unit": job.unit,
        "percent": job.percent,
        "finished": job.finished,
        "stalled": stalled,
    }


@never_cache
@require_safe
@login_required
def job_detail(request, pk):
    job = _visible_job(request, pk)
    state = _state(job)
    return render(
        request,
        "catalog/job_detail.html",
        {
            "job": job,
            "state": state,
            "refresh": REFRESH_SECONDS if not job.finished and not state["stalled"] else None,
            "can_retry": can_retry(job, request.user),
        },
    )


@never_cache
@require_safe
@login_required
def job_progress(request, pk):
    """The job's state as JSON, for the page's live progress bar."""
    return JsonResponse(_state(_visible_job(request, pk)))


@require_POST
@login_required
def job_retry_view(request, pk):
    job = _visible_job(request, pk)
    try:
        job_retry(job=job, actor=request.user)
    except PermissionDenied:
        raise
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Queued again: a worker will pick it up.")
    return redirect(job)
