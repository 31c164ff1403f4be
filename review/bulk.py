"""Contributor bulk proposals: a spreadsheet → a preview → one batch of submitted proposals.

A signed-in contributor uploads mitigations in the catalog's export layout or MIT's, with the
admin import's limits (``IMPORT_MAX_BYTES``, ``IMPORT_MAX_ROWS``), readers and private upload
folder. The admin import's own pipeline plans every row (:func:`catalog.imports.pipeline.run`,
which writes nothing unless told to apply), so the preview sorts the rows exactly as the
admin's does: new, changed (old and new values), unchanged, error (row and column).

Confirming turns the new and changed rows into proposals, all submitted in one
:class:`~review.models.ProposalBatch`, in one transaction:

- a new row → one *new mitigation* proposal; a row that gives a public ID keeps it (MIT's
  ``A0983``), a row without one gets the next free public ID when it is approved;
- a changed row → one *edit* proposal with all its changed fields among name, definition,
  source and section, and one *reclassification* proposal for each taxonomy whose node(s) or
  reasoning change (a cell left empty proposes removing that classification);
- an unchanged row → nothing. A file with any error row, or with more than
  ``REVIEW_BULK_MAX_PROPOSALS`` proposals, cannot be confirmed at all.

Each proposal takes the record's values as its base, as a single proposal does, so the usual
conflict detection applies when a curator decides it. The confirm re-reads the file and
refuses, writing nothing, when its plan differs from the preview (the catalog changed
meanwhile). Only the uploader confirms or cancels; the upload is deleted once it is proposed,
cancelled, failed or expired (``IMPORT_PREVIEW_HOURS``). The confirm itself runs in the
background (:mod:`review.tasks`), followed on a job page.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.imports.pipeline import ImportReport, RowPlan, run
from catalog.imports.preview import preview_row, record_report, save_rows
from catalog.imports.readers import FileProblem, first_upper
from catalog.imports.uploads import delete_stored, store_upload, stored_copy, uploads_expire
from catalog.models import Classification, ImportKind, Mitigation, RowAction, Taxonomy
from catalog.validation import error_text

from . import changes as proposal_changes
from . import permissions, workflow
from .changes import EditChanges, NewMitigationChanges
from .models import IN_REVIEW, ProposalBatch, ProposalKind, ProposalUpload, UploadStatus

STALE_MESSAGE = (
    "The catalog changed between the preview and the confirmation, so the file would no longer "
    "propose what the preview showed. Nothing was proposed; upload the file again for a fresh "
    "preview."
)
NOTHING_MESSAGE = "Every row is as the catalog has it already: there is nothing to propose."


class _Rollback(Exception):
    """Leave the transaction without keeping anything; ``note`` says why."""

    def __init__(self, note: str):
        super().__init__(note)
        self.note = note


def _require(verdict: permissions.Verdict) -> None:
    if not verdict:
        raise workflow.NotAllowed(verdict.reason)


# --------------------------------------------------------------------------- rows → proposals


def _split(plan: RowPlan) -> tuple[list[str], list[str]]:
    """A changed row's record fields and the slugs of the taxonomies it changes, in order."""
    fields = [name for name in plan.fields if name in proposal_changes.EDITABLE_FIELDS]
    slugs: list[str] = []
    for name in plan.fields:
        if name in proposal_changes.EDITABLE_FIELDS:
            continue
        slug = name.split(" ", 1)[0]
        if slug not in slugs:
            slugs.append(slug)
    return fields, slugs


def describe(plan: RowPlan, taxonomy_names: dict[str, str]) -> list[str]:
    """The proposals a row makes, in words, as the preview lists them."""
    if plan.action == RowAction.NEW:
        return [f"New mitigation {plan.key}" if plan.key_given else "New mitigation"]
    if plan.action != RowAction.CHANGED:
        return []
    fields, slugs = _split(plan)
    found = []
    if fields:
        labels = ", ".join(proposal_changes.FIELD_LABELS[name].lower() for name in fields)
        found.append(f"Edit of {plan.key}: {labels}")
    found += [f"Reclassification of {plan.key} in {taxonomy_names.get(s, s)}" for s in slugs]
    return found


class _Planner:
    """Follows the pipeline chunk by chunk (its ``on_chunk``): the digest of what the
    proposals depend on, how many there are, the preview's rows (``store_rows``) and, when
    confirming (``collect``), the :class:`~review.workflow.BatchItem` of each proposal."""

    def __init__(self, upload: ProposalUpload, *, store_rows: bool, collect: bool):
        self.upload = upload
        self.store_rows = store_rows
        self.collect = collect
        self.digest = hashlib.sha256()
        self.count = 0
        self.items: list[workflow.BatchItem] = []
        self.taxonomy_names = dict(Taxonomy.objects.values_list("slug", "name"))

    @property
    def fingerprint(self) -> str:
        return self.digest.hexdigest()

    def __call__(self, plans: list[RowPlan]) -> None:
        rows = []
        records, reasonings = self._current(plans) if self.collect else ({}, {})
        for plan in plans:
            # A row without an ID shows the next free number as its key, which moves whenever
            # anyone adds a record; its proposal takes a number only when approved.
            key = plan.key if plan.key_given else ""
            self.digest.update(
                json.dumps(
                    [plan.row, plan.action, key, plan.changes, plan.errors], ensure_ascii=False
                ).encode()
            )
            described = describe(plan, self.taxonomy_names)
            self.count += len(described)
            if self.store_rows:
                rows.append(preview_row(self.upload, plan, proposals=described))
            if self.collect and described and self.count <= settings.REVIEW_BULK_MAX_PROPOSALS:
                self.items.extend(self._items(plan, records, reasonings))
        save_rows(rows)

    @staticmethod
    def _current(plans: list[RowPlan]):
        """The records the chunk's changed rows name, and their classifications' reasonings."""
        numbers = [p.item.number for p in plans if p.action == RowAction.CHANGED]
        if not numbers:
            return {}, {}
        records = Mitigation.objects.in_bulk(numbers, field_name="number")
        reasonings = {
            (mitigation_id, node_id): reasoning
            for mitigation_id, node_id, reasoning in Classification.objects.filter(
                mitigation__in=list(records.values())
            ).values_list("mitigation_id", "node_id", "reasoning")
        }
        return records, reasonings

    @staticmethod
    def _items(plan: RowPlan, records: dict, reasonings: dict) -> list[workflow.BatchItem]:
        item = plan.item  # a catalog.services.MitigationUpsert
        where = first_upper(plan.row_label or f"row {plan.row}")
        if plan.action == RowAction.NEW:
            data = item.data
            new: NewMitigationChanges = {
                "name": data.get("name") or "",
                "definition": data.get("definition") or "",
                "source": data["source"].pk,
                "section_path": data.get("section_path") or "",
                "placements": [
                    [placement.node.pk, placement.reasoning or ""]
                    for placements in item.placements.values()
                    for placement in placements
                ],
            }
            if plan.key_given:
                new["number"] = item.number
                where = f"{where} ({plan.key})"
            return [workflow.BatchItem(ProposalKind.NEW, new, row=plan.row, where=where)]
        mitigation = records[item.number]
        where = f"{where} ({plan.key})"
        fields, slugs = _split(plan)
        found = []
        if fields:
            changes: dict[str, Any] = {}
            for name in fields:
                value = item.data[name]
                if name == "source":
                    changes[name] = value.pk
                else:
                    changes[name] = "" if value is None else str(value)
            found.append(
                workflow.BatchItem(
                    ProposalKind.EDIT,
                    cast(EditChanges, changes),
                    mitigation,
                    row=plan.row,
                    where=where,
                )
            )
        by_slug = {taxonomy.slug: taxonomy for taxonomy in item.placements}
        for slug in slugs:
            taxonomy = by_slug[slug]
            # No reasoning in the file (MIT's layout) keeps the one the record has at that node.
            placements = [
                [
                    placement.node.pk,
                    placement.reasoning
                    if placement.reasoning is not None
                    else reasonings.get((mitigation.pk, placement.node.pk), ""),
                ]
                for placement in item.placements[taxonomy]
            ]
            found.append(
                workflow.BatchItem(
                    ProposalKind.RECLASSIFY,
                    {"placements": placements},
                    mitigation,
                    taxonomy,
                    row=plan.row,
                    where=where,
                )
            )
        return found


# --------------------------------------------------------------------------- the private folder


def _finish(upload: ProposalUpload, status: str, note: str) -> ProposalUpload:
    """Leave the preview (failed, cancelled, expired): record why and delete the file."""
    upload.status = status
    upload.note = note
    delete_stored(upload)
    upload.save(update_fields=["status", "note", "stored_file"])
    return upload


def _record(upload: ProposalUpload, report: ImportReport, planner: _Planner) -> None:
    record_report(upload, report)
    upload.fingerprint = planner.fingerprint
    upload.proposal_count = planner.count


SOURCE_HINT = (
    "Only source documents already in the catalog can be cited: propose it as a new source "
    "document (the links above), and upload the file again once it is approved."
)


def _plan(upload: ProposalUpload, path: Path, planner: _Planner, progress=None) -> ImportReport:
    """The admin import's own dry run: mitigation layouts only, nothing written."""
    report, _ = run(
        path,
        file_name=upload.file_name,
        kind=ImportKind.MITIGATIONS,
        on_chunk=planner,
        progress=progress,
        source_hint=SOURCE_HINT,
    )
    return report


# --------------------------------------------------------------------------- the steps


def proposal_upload_expire() -> int:
    """Cancel previews left unconfirmed longer than IMPORT_PREVIEW_HOURS; delete their files
    (the admin's import previews too: one expiry for every upload)."""
    return uploads_expire()


def proposal_upload_preview(*, upload, actor) -> ProposalUpload:
    """Store the uploaded file privately and plan every row; nothing is proposed yet.

    Returns the upload: previewed (awaiting the uploader's confirmation), or failed (with the
    problems and row errors), or "nothing to propose" when every row matches the catalog.
    """
    _require(permissions.can_upload(actor))
    proposal_upload_expire()
    record = ProposalUpload(
        created_by=actor, file_name=Path(upload.name or "upload").name[:255] or "upload"
    )
    try:
        record.stored_file, record.checksum, record.size = store_upload(upload)
    except FileProblem as problem:
        record.status = UploadStatus.FAILED
        record.problems = [str(problem)]
        record.size = upload.size or 0
        record.save()
        return record
    try:
        with transaction.atomic(), stored_copy(record) as path:
            record.save()
            planner = _Planner(record, store_rows=True, collect=False)
            report = _plan(record, path, planner)
            _record(record, report, planner)
            limit = settings.REVIEW_BULK_MAX_PROPOSALS
            if not report.ok:
                record.status = UploadStatus.FAILED
                record.note = "The file has errors; nothing can be proposed until they are fixed."
            elif planner.count > limit:
                record.status = UploadStatus.FAILED
                record.problems = [
                    f"The file would make {planner.count:,} proposals; one upload makes at most "
                    f"{limit:,} (REVIEW_BULK_MAX_PROPOSALS), so that curators can review them. "
                    "Split it into smaller files."
                ]
            elif not planner.count:
                record.status = UploadStatus.NOTHING
                record.note = NOTHING_MESSAGE
            if record.status != UploadStatus.PREVIEWED:
                delete_stored(record)
            record.save()
    except BaseException:
        delete_stored(record)
        raise
    return record


def _not_previewed(upload: ProposalUpload) -> workflow.WrongState:
    if upload.status == UploadStatus.PROPOSED:
        return workflow.WrongState(
            f"This upload is already proposed, as batch #{upload.batch_id}; nothing more was done."
        )
    return workflow.WrongState(
        f"This upload is {upload.get_status_display().lower()}: it cannot be confirmed or "
        "cancelled now. Upload the file again for a fresh preview."
    )


def proposal_upload_confirm(*, upload: ProposalUpload, actor, rationale: str):
    """Confirm a previewed upload: it is proposed in the background
    (:func:`proposal_upload_propose` in a worker). Returns the :class:`~catalog.models.Job`
    whose page follows it.

    The uploader only (:class:`~review.workflow.NotAllowed`); a preview only
    (:class:`~review.workflow.WrongState`); a rationale is required (``ValidationError``).
    """
    from catalog.jobs import job_start

    from .tasks import propose_upload

    _require(permissions.can_confirm_upload(actor, upload))
    rationale = (rationale or "").strip()
    if not rationale:
        raise ValidationError(
            {"rationale": "Say why these changes should be made: the note goes with every one."}
        )
    with transaction.atomic():
        upload = ProposalUpload.objects.select_for_update().get(pk=upload.pk)
        if upload.status != UploadStatus.PREVIEWED:
            raise _not_previewed(upload)
        if not upload.can_be_confirmed:
            raise workflow.WrongState(
                "This preview has errors or nothing to propose, so it cannot be confirmed."
            )
        upload.status = UploadStatus.CONFIRMING
        upload.save(update_fields=["status"])
        return job_start(
            task=propose_upload,
            title=f"Proposals from {upload.file_name} (upload {upload.pk})",
            subject=upload_subject(upload),
            actor=actor,
            total=upload.rows_total,
            unit="rows",
            params={"rationale": rationale},
            next_url=upload.get_absolute_url(),
        )


def upload_subject(upload: ProposalUpload) -> str:
    return f"proposal-upload:{upload.pk}"


def proposal_upload_propose(
    *, upload: ProposalUpload, actor, rationale: str, progress=None
) -> ProposalUpload:
    """Turn a confirmed upload into one batch of submitted proposals, exactly as previewed.

    If the file's plan now differs from the preview, or a proposal is refused, nothing is
    proposed: the upload fails with the reason (``upload.note``) and its file is deleted. Any
    other error leaves it confirmed with its file, to be retried; nothing was written.
    """
    _require(permissions.can_propose(actor))
    try:
        with transaction.atomic():
            upload = ProposalUpload.objects.select_for_update().get(pk=upload.pk)
            if upload.status != UploadStatus.CONFIRMING:
                return upload  # proposed (or failed) by an earlier attempt
            planner = _Planner(upload, store_rows=False, collect=True)
            with stored_copy(upload) as path:
                if path is None:
                    raise _Rollback("The uploaded file is gone; upload it again.")
                report = _plan(upload, path, planner, progress=progress)
            if not report.ok:
                raise _Rollback(
                    "; ".join(report.problems)
                    or f"{report.counts[RowAction.ERROR]:,} rows have errors now. "
                    "Upload the file again to see them."
                )
            if planner.fingerprint != upload.fingerprint:
                raise _Rollback(STALE_MESSAGE)
            if planner.count > settings.REVIEW_BULK_MAX_PROPOSALS:
                raise _Rollback(
                    f"The file would make {planner.count:,} proposals, more than one upload "
                    "makes (REVIEW_BULK_MAX_PROPOSALS). Split it into smaller files."
                )
            try:
                batch = workflow.proposal_batch_create(
                    author=actor,
                    title=upload.file_name,
                    rationale=rationale,
                    items=planner.items,
                )
            except ValidationError as error:
                raise _Rollback(f"Nothing was proposed: {error_text(error)}") from error
            except IntegrityError as error:
                note = f"Nothing was proposed: the database refused it ({error})."
                raise _Rollback(note) from error
            upload.status = UploadStatus.PROPOSED
            upload.batch = batch
            upload.note = f"Proposed as batch #{batch.pk}: {len(planner.items)} proposals."
            delete_stored(upload)
            upload.save()
            return upload
    except _Rollback as rollback:
        upload = ProposalUpload.objects.get(pk=upload.pk)
        return _finish(upload, UploadStatus.FAILED, rollback.note)


def proposal_upload_cancel(*, upload: ProposalUpload, actor) -> ProposalUpload:
    _require(permissions.can_cancel_upload(actor, upload))
    with transaction.atomic():
        upload = ProposalUpload.objects.select_for_update().get(pk=upload.pk)
        if upload.status != UploadStatus.PREVIEWED:
            raise _not_previewed(upload)
        return _finish(upload, UploadStatus.CANCELLED, "Cancelled by the uploader.")


# --------------------------------------------------------------------------- deciding a batch


def proposal_batch_decide_in_background(*, batch: ProposalBatch, actor, action: str, note: str):
    """Decide every proposal of ``batch`` awaiting review (``action``: one of
    :data:`review.workflow.BATCH_ACTIONS`) in the background: :func:`review.tasks.decide_batch`
    runs :func:`review.workflow.proposal_batch_decide`. Returns the
    :class:`~catalog.models.Job` whose page follows it.

    Refused here, before anything is queued, as the transition itself would refuse it: not a
    curator (:class:`~review.workflow.NotAllowed`), a missing note (``ValidationError``),
    nothing awaiting review or a decision already under way
    (:class:`~review.workflow.WrongState`).
    """
    from catalog.jobs import job_active_for, job_start

    from .tasks import batch_subject, decide_batch

    decision = workflow.BATCH_ACTIONS[action]
    _require(permissions.can_decide_batch(actor, batch))
    note = workflow._note(action, note, prompt=decision.batch_note_prompt)
    with transaction.atomic():
        batch = ProposalBatch.objects.select_for_update().get(pk=batch.pk)
        in_review = batch.proposals.filter(state__in=IN_REVIEW).count()
        if not in_review:
            raise workflow.WrongState(
                "No proposal of this batch awaits a decision now: each was decided, withdrawn "
                "or is back with its author. Nothing was done."
            )
        if job_active_for(batch_subject(batch)) is not None:
            raise workflow.WrongState(
                "A decision on this whole batch is under way already; follow it from the "
                "batch's page. Nothing more was done."
            )
        label = {"approve": "Approval", "reject": "Rejection", "request_changes": "Changes"}
        return job_start(
            task=decide_batch,
            title=f"{label[action]} of batch #{batch.pk}: {batch.title}",
            subject=batch_subject(batch),
            actor=actor,
            total=in_review,
            unit="proposals",
            params={"action": action, "note": note},
            next_url=batch.get_absolute_url(),
        )
