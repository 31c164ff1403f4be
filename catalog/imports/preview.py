"""One spreadsheet preview, for every purpose: the admin's import batches and contributors'
bulk proposals (both :class:`~catalog.models.SpreadsheetUpload`).

- :func:`record_report` copies what the pipeline made of a file onto the upload;
- :func:`preview_row` turns one row's plan into the upload's row model, :func:`save_rows`
  stores a chunk of them;
- :func:`preview_context` is what a preview page shows: the tabs by outcome, the current
  page of rows with their changed cells, for the template ``includes/_preview_rows.html``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from django.core.paginator import Paginator
from django.utils.html import format_html, format_html_join

from ..models import PreviewRow, RowAction, SpreadsheetUpload
from .pipeline import CellChange, ImportReport, RowPlan

PAGE_SIZE = 50
DIFF_MIN_LENGTH = 80  # shorter values are shown whole, old above new


# --------------------------------------------------------------------------- recording


def record_report(upload: SpreadsheetUpload, report: ImportReport) -> None:
    """Copy the report's format, layout, counts, problems, summary and fingerprint onto
    ``upload`` (the caller saves it)."""
    upload.file_format = report.file_format
    upload.layout = report.layout
    upload.layout_title = report.layout_title[:200]
    upload.rows_total = report.rows_total
    upload.rows_new = report.counts[RowAction.NEW]
    upload.rows_changed = report.counts[RowAction.CHANGED]
    upload.rows_unchanged = report.counts[RowAction.UNCHANGED]
    upload.rows_error = report.counts[RowAction.ERROR]
    upload.problems = report.problems
    upload.notices = report.notices
    upload.summary = report.summary_data()
    upload.fingerprint = report.fingerprint


def preview_row(upload: SpreadsheetUpload, plan: RowPlan, **extra) -> PreviewRow:
    """The row of ``upload``'s preview for ``plan`` (unsaved); ``extra`` sets the fields of
    the upload's own row model (e.g. a bulk proposal's ``proposals``)."""
    rows = upload.rows
    return rows.model(
        **{rows.field.name: upload},
        row=plan.row,
        key=plan.key[:200],
        key_given=plan.key_given,
        label=plan.label[:500],
        action=plan.action,
        changes=[list(change) for change in plan.changes],
        errors=[list(error) for error in plan.errors],
        **extra,
    )


def save_rows(rows: list[PreviewRow]) -> None:
    if rows:
        type(rows[0])._default_manager.bulk_create(rows, batch_size=1000)


# --------------------------------------------------------------------------- showing


def inline_diff(old: str, new: str):
    """Word-level differences of two long texts, as <del>/<ins> markup (escaped)."""
    old_words, new_words = re.split(r"(\s+)", old), re.split(r"(\s+)", new)
    parts = []
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(("{}", "".join(old_words[a1:a2])))
            continue
        if a2 > a1:
            parts.append(("<del>{}</del>", "".join(old_words[a1:a2])))
        if b2 > b1:
            parts.append(("<ins>{}</ins>", "".join(new_words[b1:b2])))
    return format_html_join("", "{}", ((format_html(t, v),) for t, v in parts))


def present_changes(changes: Iterable[Sequence[str]]) -> list[dict]:
    """A preview row's changes (stored :class:`~catalog.imports.pipeline.CellChange` lists),
    long texts with a word diff."""
    shown = []
    for column, old, new in map(CellChange._make, changes):
        long = len(old) + len(new) > DIFF_MIN_LENGTH and old and new
        diff = inline_diff(old, new) if long else None
        shown.append({"column": column, "old": old, "new": new, "diff": diff})
    return shown


def preview_context(
    upload: SpreadsheetUpload,
    params,
    *,
    page_size: int = PAGE_SIZE,
    with_proposals: bool = False,
    unnumbered: str = "",
) -> dict:
    """The rows part of a preview page for ``upload``, from the query ``params``: ``show`` (an
    outcome; by default the first that has rows) and ``page``.

    ``with_proposals`` adds the column of proposals each row makes; ``unnumbered`` is shown in
    place of the key of a row that did not give one (empty: the key itself).
    """
    counts = upload.row_counts()
    show = params.get("show")
    if show not in counts:
        show = next((action for action, count in counts.items() if count), RowAction.NEW)
    rows = upload.rows.filter(action=show).order_by("row")
    page = Paginator(rows, page_size).get_page(params.get("page"))
    return {
        "tabs": [(action, RowAction(action).label, count) for action, count in counts.items()],
        "show": show,
        "page": page,
        "rows": [{"row": row, "changes": present_changes(row.changes)} for row in page],
        "with_proposals": with_proposals and show in (RowAction.NEW, RowAction.CHANGED),
        "unnumbered": unnumbered,
    }
