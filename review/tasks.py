"""Background tasks of the review (run by the worker: ``manage.py db_worker``): proposing a
contributor's confirmed spreadsheet, and deciding a batch as a whole. Each is followed on its
job's page (:mod:`catalog.jobs`)."""

from __future__ import annotations

from django.tasks import task

from catalog.jobs import JobFailed, job_run

from . import workflow
from .models import ProposalBatch, ProposalUpload, UploadStatus

REPORT_LINES = 20  # per kind of outcome, in the report of a batch decision


# --------------------------------------------------------------------------- uploads


@task()
def propose_upload(job_id: int) -> dict | None:
    """Propose the confirmed upload of job ``job_id`` as one batch
    (:func:`review.bulk.proposal_upload_propose`)."""
    return job_run(job_id, _propose)


def _propose(job, progress) -> dict:
    from .bulk import proposal_upload_propose

    upload = ProposalUpload.objects.get(pk=int(job.subject.removeprefix("proposal-upload:")))
    upload = proposal_upload_propose(
        upload=upload,
        actor=job.created_by,
        rationale=job.params.get("rationale", ""),
        progress=progress,
    )
    if upload.status != UploadStatus.PROPOSED:
        return {
            "lines": [["error", upload.note]],
            "url": upload.get_absolute_url(),
            "link": "Back to the upload",
        }
    count = upload.batch.proposals.count()
    return {
        "lines": [
            [
                "success",
                f"Thank you: your {count} proposals are in the review queue as batch "
                f"#{upload.batch_id}.",
            ]
        ],
        "url": upload.batch.get_absolute_url(),
        "link": f"Batch #{upload.batch_id}",
    }


# --------------------------------------------------------------------------- batch decisions


def batch_subject(batch: ProposalBatch) -> str:
    return f"proposal-batch:{batch.pk}"


@task()
def decide_batch(job_id: int) -> dict | None:
    """Decide every proposal of a batch awaiting review, as job ``job_id`` says (its params:
    ``action`` and ``note``), each by the usual transition."""
    return job_run(job_id, _decide)


def _decide(job, progress) -> dict:
    batch = ProposalBatch.objects.get(pk=int(job.subject.removeprefix("proposal-batch:")))
    try:
        outcome = workflow.proposal_batch_decide(
            batch=batch,
            actor=job.created_by,
            action=job.params["action"],
            note=job.params.get("note", ""),
            progress=progress,
        )
    except workflow.WorkflowError as error:
        # Refused as a whole (no longer a curator, nothing left to decide): nothing was done.
        raise JobFailed(error.message) from error
    return {
        "lines": outcome_lines(outcome),
        "url": batch.get_absolute_url(),
        "link": f"Back to batch #{batch.pk}",
    }


def _listed(entries, describe) -> list[str]:
    lines = [describe(entry) for entry in entries[:REPORT_LINES]]
    if len(entries) > REPORT_LINES:
        lines.append(f"… and {len(entries) - REPORT_LINES} more: see the batch's list.")
    return lines


def outcome_lines(outcome: workflow.BatchOutcome) -> list[list[str]]:
    """The batch decision's report, as ``[level, text]`` lines: what was done, what was not
    and why."""
    done, total = len(outcome.decided), outcome.total
    lines = []
    if outcome.action == "approve":
        lines.append(
            ["success", f"Approved and applied {done} of the {total} proposals awaiting review."]
        )
        if outcome.waiting:
            ids = ", ".join(f"#{result.proposal.pk}" for result in outcome.waiting)
            lines.append(
                [
                    "info",
                    f"Your approval is recorded on {len(outcome.waiting)} that need more "
                    f"curators' approvals before they apply: {ids}.",
                ]
            )
    elif outcome.action == "reject":
        lines.append(
            [
                "success",
                f"Rejected {done} of the {total} proposals awaiting review; the author sees "
                "your note.",
            ]
        )
    else:
        lines.append(
            [
                "success",
                f"Sent {done} of the {total} proposals awaiting review back to the author "
                "with your note.",
            ]
        )
    describe = lambda entry: f"#{entry[0].pk} {entry[0].title}: {entry[1]}"  # noqa: E731
    lines += [["warning", line] for line in _listed(outcome.sent_back, describe)]
    lines += [["error", line] for line in _listed(outcome.refused, describe)]
    return lines
