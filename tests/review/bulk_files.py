"""Spreadsheets a contributor might upload, written in the tests (our own words), and helpers."""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import exports
from catalog.models import Mitigation
from review import bulk
from review.models import ProposalUpload
from tests.spreadsheets import MIT_MITIGATION_HEADER
from tests.tasks import run_pending_tasks

__all__ = [
    "MIT_MITIGATION_HEADER",
    "confirm_upload",
    "csv_file",
    "exported_rows",
    "preview",
    "upload_file",
]

NEW_NAME = "Publish a changelog of safety-relevant model updates"
NEW_DEFINITION = "Each release notes which safety behaviours changed and why."


def csv_bytes(rows, *, encoding="utf-8-sig", delimiter=",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload_file(data: bytes, name: str = "proposals.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def csv_file(rows, name: str = "proposals.csv", **kwargs) -> SimpleUploadedFile:
    return upload_file(csv_bytes(rows, **kwargs), name)


def exported_rows(*numbers: int) -> list[list[str]]:
    """The catalog's own CSV export of the records ``numbers``: the header, then their rows."""
    buffer = io.BytesIO()
    exports.write(Mitigation.objects.filter(number__in=numbers).order_by("number"), "csv", buffer)
    return list(csv.reader(io.StringIO(buffer.getvalue().decode("utf-8-sig"))))


def column(rows, heading: str) -> int:
    return rows[0].index(heading)


def preview(user, rows, name: str = "proposals.csv"):
    """Upload ``rows`` as a CSV file through the service, as the page does."""
    return bulk.proposal_upload_preview(upload=csv_file(rows, name), actor=user)


def confirm_upload(*, upload, actor, rationale) -> ProposalUpload:
    """Confirm ``upload`` through the service, as the page does (refusals are raised here),
    then let a worker (this process) propose it; returns the upload as the worker left it."""
    bulk.proposal_upload_confirm(upload=upload, actor=actor, rationale=rationale)
    run_pending_tasks()
    return ProposalUpload.objects.get(pk=upload.pk)
