"""One spreadsheet preview for both purposes: the recorder, the rows and the preview helper
(catalog/imports/preview.py), used by admin import batches and contributors' uploads."""

from collections import Counter

import pytest
from django.http import QueryDict

from catalog.imports.pipeline import ImportReport, RowPlan
from catalog.imports.preview import (
    present_changes,
    preview_context,
    preview_row,
    record_report,
    save_rows,
)
from catalog.models import ImportBatch, ImportKind, ImportRow, RowAction
from review.models import ProposalUpload, ProposalUploadRow

pytestmark = pytest.mark.django_db


def _report() -> ImportReport:
    report = ImportReport(file_name="m.csv", kind=ImportKind.MITIGATIONS)
    report.file_format, report.layout, report.layout_title = "csv", "catalog", "The catalog's"
    report.rows_total = 4
    report.counts = Counter({RowAction.NEW: 2, RowAction.CHANGED: 1, RowAction.ERROR: 1})
    report.problems, report.notices, report.fingerprint = [], ["Column X ignored."], "f" * 64
    return report


def _plans() -> list[RowPlan]:
    return [
        RowPlan(row=2, key="A9100", label="One", action=RowAction.NEW),
        RowPlan(row=3, key="A9101", label="Two", action=RowAction.NEW, key_given=False),
        RowPlan(
            row=4,
            key="A9001",
            label="Three",
            action=RowAction.CHANGED,
            changes=[("Name", "Old", "New")],
        ),
        RowPlan(row=5, label="Four", action=RowAction.ERROR, errors=[("B5", "Unknown source")]),
    ]


@pytest.fixture
def uploads(contributor, admin):
    batch = ImportBatch.objects.create(
        file_name="m.csv", kind=ImportKind.MITIGATIONS, created_by=admin
    )
    upload = ProposalUpload.objects.create(file_name="m.csv", created_by=contributor)
    return batch, upload


def test_one_recorder_records_an_import_batch_and_an_upload_alike(uploads):
    for upload in uploads:
        record_report(upload, _report())
        upload.save()
        upload.refresh_from_db()
        assert (upload.rows_total, upload.rows_new, upload.rows_changed, upload.rows_error) == (
            4,
            2,
            1,
            1,
        )
        assert (upload.file_format, upload.layout_title, upload.notices) == (
            "csv",
            "The catalog's",
            ["Column X ignored."],
        )
        assert upload.fingerprint == "f" * 64


def test_rows_go_to_each_uploads_own_row_model(uploads):
    batch, upload = uploads
    save_rows([preview_row(batch, plan) for plan in _plans()])
    save_rows([preview_row(upload, plan, proposals=["New mitigation"]) for plan in _plans()])
    assert ImportRow.objects.filter(batch=batch).count() == 4
    assert list(
        ProposalUploadRow.objects.filter(upload=upload).values_list("row", "key_given")
    ) == [
        (2, True),
        (3, False),
        (4, True),
        (5, True),
    ]
    assert ProposalUploadRow.objects.get(upload=upload, row=2).proposals == ["New mitigation"]
    assert ImportRow.objects.get(batch=batch, row=5).errors == [["B5", "Unknown source"]]


def test_the_preview_shows_errors_first_then_the_tab_asked_for_a_page_at_a_time(uploads):
    batch, _ = uploads
    record_report(batch, _report())
    save_rows([preview_row(batch, plan) for plan in _plans()])
    first = preview_context(batch, QueryDict(""))
    assert first["show"] == RowAction.ERROR
    assert [tab[0] for tab in first["tabs"]] == ["error", "changed", "new", "unchanged"]
    new = preview_context(batch, QueryDict("show=new&page=2"), page_size=1)
    assert new["page"].number == 2 and new["page"].paginator.num_pages == 2
    assert [entry["row"].row for entry in new["rows"]] == [3]
    assert not new["with_proposals"]
    assert preview_context(batch, QueryDict("show=new"), with_proposals=True)["with_proposals"]
    bogus = preview_context(batch, QueryDict("show=%00&page=x"))
    assert bogus["show"] == RowAction.ERROR and bogus["page"].number == 1


def test_a_long_change_is_shown_as_a_word_diff_and_a_short_one_whole():
    long_old = "The developer tests the model before release " * 3
    long_new = long_old.replace("before", "after")
    long, short = present_changes([("Definition", long_old, long_new), ("Name", "a", "b")])
    assert "<del>before</del>" in str(long["diff"]) and "<ins>after</ins>" in str(long["diff"])
    assert short["diff"] is None and (short["old"], short["new"]) == ("a", "b")
