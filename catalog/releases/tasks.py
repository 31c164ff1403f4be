"""The background task that builds a release (run by the worker: ``manage.py db_worker``)."""

from __future__ import annotations

from django.tasks import task

from catalog.jobs import job_run

from .models import Release


@task()
def build_release(job_id: int) -> dict | None:
    """Build the release of job ``job_id`` (see ``services.release_build``)."""
    return job_run(job_id, _build)


def _build(job, progress) -> dict:
    from .services import release_build

    release = Release.objects.get(pk=int(job.subject.removeprefix("release:")))
    release = release_build(release=release, progress=progress)
    return {
        "lines": [
            [
                "success",
                f"Release {release.version} is published: {release.counts['total']:,} records "
                f"({release.counts['active']:,} active).",
            ]
        ],
        "url": release.get_absolute_url(),
        "link": f"Release {release.version}",
    }
