"""A contributor's spreadsheet: upload, the dry-run preview, and files that cannot be proposed."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from review import bulk
from review.models import Proposal, ProposalBatch, ProposalUpload, UploadStatus
from tests.spreadsheets import catalog_state, history_total, write_xlsx

from .bulk_files import (
    MIT_MITIGATION_HEADER,
    NEW_DEFINITION,
    NEW_NAME,
    column,
    csv_bytes,
    csv_file,
    exported_rows,
    preview,
    upload_file,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("upload_dir")]


def stored_files(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.exists() else []


def edited_export():
    """A9001 renamed, A9002 moved to 2.3, A9003 as it is, and one new row without an ID."""
    rows = exported_rows(9001, 9002, 9003)
    rows[1][column(rows, "Name")] = "Adversarial training on attack prompts"
    rows[2][column(rows, "airm-preliminary")] = "2.3 Model Safety Engineering"
    new = [""] * len(rows[0])
    new[column(rows, "Name")] = NEW_NAME
    new[column(rows, "Definition")] = NEW_DEFINITION
    new[column(rows, "Source")] = "Gipiškis2024"
    new[column(rows, "airm-preliminary")] = "4.1 System Documentation"
    rows.append(new)
    return rows


# --------------------------------------------------------------------------- the preview


def test_a_preview_sorts_every_row_and_proposes_nothing_yet(contributor, upload_dir):
    state, history = catalog_state(), history_total()

    upload = preview(contributor, edited_export(), name="workshop edits.csv")

    assert upload.status == UploadStatus.PREVIEWED
    assert (upload.rows_total, upload.rows_new, upload.rows_changed, upload.rows_unchanged) == (
        4,
        1,
        2,
        1,
    )
    assert upload.proposal_count == 3
    assert (upload.layout, upload.file_format, upload.file_name) == (
        "catalog",
        "csv",
        "workshop edits.csv",
    )
    assert upload.can_be_confirmed
    assert (catalog_state(), history_total()) == (state, history)
    assert not Proposal.objects.exists() and not ProposalBatch.objects.exists()
    rows = {row.row: row for row in upload.rows.all()}
    assert rows[2].changes == [
        ["Name", "Adversarial training", "Adversarial training on attack prompts"]
    ]
    assert rows[2].proposals == ["Edit of A9001: name"]
    assert rows[3].changes == [
        ["airm-preliminary", "3.1 Testing & Auditing", "2.3 Model Safety Engineering"]
    ]
    assert rows[3].proposals == [
        "Reclassification of A9002 in AI Risk Mitigation Taxonomy (preliminary)"
    ]
    assert (rows[4].action, rows[4].proposals) == ("unchanged", [])
    assert (rows[5].action, rows[5].key_given, rows[5].proposals) == (
        "new",
        False,
        ["New mitigation"],
    )


def test_the_upload_waits_in_the_private_folder_under_a_random_name(contributor, upload_dir):
    upload = preview(contributor, edited_export(), name="edits.csv")

    (stored,) = stored_files(upload_dir)
    assert stored.name == upload.stored_file
    assert "edits" not in stored.name
    assert stat.S_IMODE(upload_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    for served in [settings.STATIC_ROOT, *settings.STATICFILES_DIRS]:
        assert not stored.resolve().is_relative_to(Path(served).resolve())


def test_the_mit_layout_keeps_mits_public_ids_for_new_rows(contributor):
    rows = [
        MIT_MITIGATION_HEADER,
        ["A1200_Example2025", "Tabletop drills for model incidents", "", "NIST2024", "3.6"],
        ["A9001_Gipiškis2024", "Adversarial training", "", "Gipiškis2024", "3.1"],
    ]
    upload = preview(contributor, rows)

    assert (upload.layout, upload.rows_new, upload.rows_changed) == ("mit", 1, 1)
    new, changed = upload.rows.order_by("row")
    assert (new.key, new.key_given, new.proposals) == ("A1200", True, ["New mitigation A1200"])
    # MIT's file has no definition for A9001 here: an empty cell clears the field.
    assert changed.proposals == [
        "Edit of A9001: definition",
        "Reclassification of A9001 in AI Risk Mitigation Taxonomy (preliminary)",
    ]


@pytest.mark.parametrize("fmt", ["xlsx", "tsv", "json"])
def test_xlsx_tsv_and_json_are_read_as_csv_is(fmt, contributor, tmp_path):
    rows = edited_export()
    if fmt == "xlsx":
        data = write_xlsx(tmp_path / "edits.xlsx", rows).read_bytes()
    elif fmt == "tsv":
        data = csv_bytes(rows, delimiter="\t")
    else:
        data = json.dumps([dict(zip(rows[0], row, strict=True)) for row in rows[1:]]).encode()

    upload = bulk.proposal_upload_preview(
        upload=upload_file(data, f"edits.{fmt}"), actor=contributor
    )

    assert upload.status == UploadStatus.PREVIEWED, upload.problems
    assert (upload.rows_new, upload.rows_changed, upload.rows_unchanged) == (1, 2, 1)
    assert upload.proposal_count == 3


def test_a_changed_row_proposes_one_edit_and_one_reclassification_per_taxonomy(contributor):
    rows = exported_rows(9001)
    rows[1][column(rows, "Name")] = "Adversarial training on attack prompts"
    rows[1][column(rows, "Section")] = "Model development > Robustness"
    rows[1][column(rows, "airm-preliminary")] = "3.1 Testing & Auditing"
    rows[1][column(rows, "airm-draft reasoning")] = "It changes what the model optimises."
    rows[1][column(rows, "lifecycle")] = ""

    upload = preview(contributor, rows)

    (row,) = upload.rows.all()
    assert row.proposals == [
        "Edit of A9001: name, section in source",
        "Reclassification of A9001 in AI Risk Mitigation Taxonomy (preliminary)",
        "Reclassification of A9001 in AI Risk Mitigation Taxonomy: where a mitigation acts (draft)",
        "Reclassification of A9001 in AI lifecycle stage",
    ]
    assert upload.proposal_count == 4


def test_a_file_that_changes_nothing_has_nothing_to_propose(contributor, upload_dir):
    upload = preview(contributor, exported_rows(9001, 9002))

    assert upload.status == UploadStatus.NOTHING
    assert upload.note == bulk.NOTHING_MESSAGE
    assert not upload.can_be_confirmed
    assert stored_files(upload_dir) == []


def test_more_proposals_than_one_upload_makes_are_refused(contributor, settings, upload_dir):
    settings.REVIEW_BULK_MAX_PROPOSALS = 2
    upload = preview(contributor, edited_export())

    assert upload.status == UploadStatus.FAILED
    assert upload.problems == [
        "The file would make 3 proposals; one upload makes at most 2 "
        "(REVIEW_BULK_MAX_PROPOSALS), so that curators can review them. Split it into smaller "
        "files."
    ]
    assert stored_files(upload_dir) == []


def test_unconfirmed_previews_expire_and_their_files_go(contributor, upload_dir):
    old = preview(contributor, edited_export())
    ProposalUpload.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.IMPORT_PREVIEW_HOURS + 1)
    )

    fresh = preview(contributor, edited_export())

    old.refresh_from_db()
    assert (old.status, old.note, old.stored_file) == (
        UploadStatus.CANCELLED,
        "The preview expired unconfirmed.",
        "",
    )
    assert [path.name for path in stored_files(upload_dir)] == [fresh.stored_file]


def test_a_contributor_cannot_create_a_source_document_from_a_sheet(contributor):
    rows = edited_export()
    rows[-1][column(rows, "Source")] = "Nobody2030"
    upload = preview(contributor, rows)

    (group,) = upload.summary["errors"]
    assert group["where"] == 'column D ("Source")'
    assert group["message"] == (
        "No source document “Nobody2030”. Only source documents already in the catalog can "
        "be cited: propose it as a new source document (the links above), and upload the file "
        "again once it is approved."
    )
    assert upload.summary["unknown_sources"] == [["Nobody2030", 1]]


def test_the_upload_page_offers_to_propose_each_unknown_source(client_for, contributor):
    rows = edited_export()
    rows[-1][column(rows, "Source")] = "Nobody 2030 & Co"
    rows[1][column(rows, "Source")] = "Nobody 2030 & Co"
    rows[2][column(rows, "Source")] = "X" * 101  # longer than any reference: not offered
    upload = preview(contributor, rows)

    page = client_for(contributor).get(upload.get_absolute_url()).text

    link = "/review/propose/source/?short_ref=Nobody%202030%20%26%20Co"
    assert f'href="{link}"' in page
    assert "cited by 2 rows" in page
    assert "X" * 101 + "”" not in page.split('id="unknown-sources"')[1].split("</div>")[0]
    form = client_for(contributor).get(link).text
    assert 'value="Nobody 2030 &amp; Co"' in form


# --------------------------------------------------------------------------- bad input


def failed_with_errors(upload) -> list[tuple[str, str, list[int]]]:
    assert upload.status == UploadStatus.FAILED
    assert not upload.can_be_confirmed
    return [(g["where"], g["message"], g["rows"]) for g in upload.summary["errors"]]


def test_row_errors_name_the_row_and_the_column_and_nothing_can_be_confirmed(
    contributor, upload_dir
):
    rows = edited_export()
    rows[2][column(rows, "airm-preliminary")] = "9.9 Not a node"
    rows[3][column(rows, "ID")] = "A9001"
    rows[-1][column(rows, "ID")] = "B12"

    upload = preview(contributor, rows)

    assert failed_with_errors(upload) == [
        ('column A ("ID")', "A9001 appears more than once in the file (also in row 4).", [2]),
        (
            'column I ("airm-preliminary")',
            "No node “9.9” in AI Risk Mitigation Taxonomy (preliminary) (airm-preliminary).",
            [3],
        ),
        ('column A ("ID")', "A9001 appears more than once in the file (also in row 2).", [4]),
        ('column A ("ID")', "“B12” is not a public ID like A0983.", [5]),
    ]
    assert upload.rows.filter(action="error").count() == 4
    assert stored_files(upload_dir) == []
    assert not Proposal.objects.exists()


def test_a_status_column_cannot_retire_a_record(contributor):
    rows = exported_rows(9001)
    rows[1][column(rows, "Status")] = "retired"
    upload = preview(contributor, rows)

    ((where, message, _),) = failed_with_errors(upload)
    assert where == 'column F ("Status")'
    assert "an import does not change a record's status" in message


def test_a_merged_record_takes_no_changes(contributor, other_record, record):
    from catalog import services

    services.mitigation_merge(mitigation=record, into=other_record, actor=None, reason="Dup")
    rows = exported_rows(9001)
    rows[1][column(rows, "Name")] = "A new name for the duplicate"
    upload = preview(contributor, rows)

    ((_, message, _),) = failed_with_errors(upload)
    assert message == "A9001 was merged into A9002; change that record instead."


def test_an_overlong_reasoning_is_an_error_of_its_cell(contributor):
    rows = exported_rows(9001)
    rows[1][column(rows, "airm-preliminary reasoning")] = "x" * 1001
    upload = preview(contributor, rows)

    ((where, message, _),) = failed_with_errors(upload)
    assert where == 'column J ("airm-preliminary reasoning")'
    assert message == "Keep each reasoning under 1,000 characters (one line)."


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("empty.csv", b"", "The file is empty."),
        ("header.csv", b"ID,Name,Source\n", "The file has a header but no rows to import."),
        (
            "nosource.csv",
            b"ID,Name\nA9001,Something\n",
            "The column “Source” is missing: the AIRM Curator export layout needs ID, Name, "
            "Source.",
        ),
        (
            "documents.csv",
            b"ShortRef,Title\nX2025,A document\n",
            "Row 1 is not the header of any layout this import knows",
        ),
        (
            "latin1.csv",
            "ID,Name,Source\n,Caf\xe9 audits,NIST2024\n".encode("latin-1"),
            "The file is not UTF-8 text: row 2 (line 2) has the byte 0xE9",
        ),
        ("broken.xlsx", b"PK\x03\x04 not really a workbook", "The XLSX workbook cannot be read"),
        (
            "locked.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
            "This workbook is password-protected (encrypted) or in the old .xls format",
        ),
    ],
)
def test_files_that_cannot_be_read_say_why(name, data, problem, contributor, upload_dir):
    upload = bulk.proposal_upload_preview(upload=upload_file(data, name), actor=contributor)

    assert upload.status == UploadStatus.FAILED
    assert any(p.startswith(problem) for p in upload.problems), upload.problems
    assert stored_files(upload_dir) == []
    assert not Proposal.objects.exists()


def test_a_file_over_the_row_limit_is_refused(contributor, settings):
    settings.IMPORT_MAX_ROWS = 2
    upload = preview(contributor, edited_export())

    assert upload.status == UploadStatus.FAILED
    assert upload.problems == [
        "The file has more than 2 rows, the most one import takes (IMPORT_MAX_ROWS). Split it "
        "into several files."
    ]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(contributor, settings):
    settings.IMPORT_MAX_BYTES = 100
    upload = preview(contributor, edited_export())

    assert upload.status == UploadStatus.FAILED
    assert upload.problems[0].startswith("The file is larger than 100\xa0bytes")
    assert not upload.rows.exists()


# --------------------------------------------------------------------------- the pages


def test_the_upload_page_states_layouts_formats_and_limits(client_for, contributor):
    response = client_for(contributor).get(reverse("review:upload"))

    assert response.status_code == 200
    for text in ("20.0\xa0MB", "200,000 rows", "500 proposals", "MitigationCode", "XLSX"):
        assert text in response.text
    assert 'type="file"' in response.text and 'enctype="multipart/form-data"' in response.text


def test_uploading_shows_the_preview(client_for, contributor):
    client = client_for(contributor)
    response = client.post(reverse("review:upload"), {"file": csv_file(edited_export())})

    upload = ProposalUpload.objects.get()
    assert response["Location"] == upload.get_absolute_url()
    page = client.get(upload.get_absolute_url(), {"show": "changed"})
    assert "Summary: 4 rows" in page.text
    assert (
        "<del>Adversarial training</del> → <ins>Adversarial training on attack prompts</ins>"
        in (page.text)
    )
    assert "Edit of A9001: name" in page.text
    assert "Confirm and submit for review" in page.text
    new_rows = client.get(upload.get_absolute_url(), {"show": "new"})
    assert "new ID on approval" in new_rows.text
    assert NEW_NAME in new_rows.text


def test_an_upload_without_a_file_is_a_form_error(client_for, contributor):
    response = client_for(contributor).post(reverse("review:upload"), {})

    assert response.status_code == 400
    assert "Choose a file to upload." in response.text
    assert not ProposalUpload.objects.exists()


def test_an_upload_over_the_size_limit_stops_reading_and_says_so(
    client_for, contributor, settings, upload_dir
):
    settings.IMPORT_MAX_BYTES = 100
    response = client_for(contributor).post(
        reverse("review:upload"), {"file": csv_file(edited_export())}
    )

    assert response.status_code == 400
    assert "The file is larger than 100\xa0bytes, the most one upload takes." in response.text
    assert not ProposalUpload.objects.exists()
    assert stored_files(upload_dir) == []


def test_the_preview_shows_errors_with_their_row_and_column(client_for, contributor):
    rows = edited_export()
    rows[2][column(rows, "airm-preliminary")] = "9.9 Not a node"
    upload = preview(contributor, rows)

    page = client_for(contributor).get(upload.get_absolute_url())

    assert "Errors (nothing can be proposed until they are corrected)" in page.text
    assert "column I (&quot;airm-preliminary&quot;)" in page.text
    assert "No node “9.9”" in page.text
    assert "Confirm and submit for review" not in page.text
    assert "The file has errors; nothing can be proposed until they are fixed." in page.text


def test_a_large_preview_is_summarised_and_paginated_in_constant_queries(
    client_for, contributor, django_assert_num_queries
):
    # Session, user, curator check (navigation); the upload; the paginator's count; the rows.
    rows = [MIT_MITIGATION_HEADER] + [
        ["", f"Idea number {n} from the workshop", "", "NIST2024", "3.1"] for n in range(120)
    ]
    upload = preview(contributor, rows)
    client = client_for(contributor)

    with django_assert_num_queries(6):
        page = client.get(upload.get_absolute_url(), {"show": "new", "page": 3})

    assert "page 3 of 3" in page.text
    assert page.text.count("new ID on approval") == 20
    assert "Idea number 100 " in page.text and "Idea number 99 " not in page.text
    small = preview(contributor, rows[:3])
    with django_assert_num_queries(6):
        client.get(small.get_absolute_url(), {"show": "new"})
