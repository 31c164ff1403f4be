"""The admin's import pages: upload → preview → confirm (uploader only) → revert; exports."""

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from catalog import services
from catalog.imports.batches import STALE_MESSAGE
from catalog.models import ImportBatch, ImportKind, ImportRow, Job, Mitigation, SourceDocument
from tests.factories import MitigationFactory
from tests.spreadsheets import MIT_MITIGATION_HEADER, catalog_state, csv_text, history_total

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:catalog_importbatch_upload")


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "private-uploads"
    return settings.IMPORT_UPLOAD_DIR


@pytest.fixture
def admin_client_(client_for, admin):
    return client_for(admin)


def csv_upload(rows, name="mitigations.csv"):
    lines = "\n".join(",".join(f'"{cell}"' for cell in row) for row in rows)
    return SimpleUploadedFile(name, lines.encode("utf-8-sig"), content_type="text/csv")


def mixed_rows(new=3):
    """``new`` new rows, one changed (A9001 renamed), one unchanged (A9002 as it is)."""
    first, second = Mitigation.objects.filter(number__in=[9001, 9002]).order_by("number")
    rows = [MIT_MITIGATION_HEADER]
    rows += [[f"A{7000 + n}", f"Imported idea {n}", "", "NIST2024", "3.1"] for n in range(new)]
    rows.append(
        [first.public_id, "Renamed in the sheet", first.definition, first.source.short_ref, ""]
    )
    rows.append(
        [
            second.public_id,
            second.name,
            second.definition,
            second.source.short_ref,
            second.classifications.get(taxonomy__slug="airm-preliminary").node.code,
        ]
    )
    return rows


def upload(client, rows, kind=ImportKind.MITIGATIONS, name="mitigations.csv"):
    response = client.post(UPLOAD, {"kind": kind, "file": csv_upload(rows, name)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportBatch.objects.latest("pk"), response


def confirm(client, batch, run_tasks):
    """Confirm ``batch`` as its uploader does: the answer is the job's page at once; then a
    worker applies it. Returns the confirm's response."""
    response = client.post(reverse("admin:catalog_importbatch_confirm", args=[batch.pk]))
    job = Job.objects.get(subject=f"import-batch:{batch.pk}")
    assert response["Location"] == job.get_absolute_url()
    assert run_tasks() == 1
    return response


def stored_files(upload_dir: Path):
    return list(upload_dir.iterdir()) if upload_dir.exists() else []


# --------------------------------------------------------------------------- upload and preview


def test_the_upload_page_states_formats_and_limits(admin_client_):
    response = admin_client_.get(UPLOAD, {"kind": "documents"})
    assert response.status_code == 200
    assert "20.0\xa0MB" in response.text and "200,000 rows" in response.text
    assert 'value="documents" selected' in response.text


def test_the_changelists_offer_import_and_export(admin_client_):
    mitigations = admin_client_.get(
        reverse("admin:catalog_mitigation_changelist"), {"status__exact": "active"}
    )
    assert f'href="{UPLOAD}?kind=mitigations"' in mitigations.text
    assert (
        reverse("admin:catalog_mitigation_export", args=["csv"]) + "?status__exact=active"
        in mitigations.text
    )
    documents = admin_client_.get(reverse("admin:catalog_sourcedocument_changelist"))
    assert f'href="{UPLOAD}?kind=documents"' in documents.text


def test_staff_without_the_import_permission_cannot_upload(client_for, django_user_model):
    staff = django_user_model.objects.create_user("stan-staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_importbatch"))
    client = client_for(staff)
    assert client.get(UPLOAD).status_code == 403
    assert (
        client.post(UPLOAD, {"kind": "mitigations", "file": csv_upload(mixed_rows())}).status_code
        == 403
    )
    assert not ImportBatch.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(UPLOAD)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_preview_sorts_rows_and_writes_nothing_to_the_catalog(admin_client_, upload_dir):
    state, history = catalog_state(), history_total()

    batch, response = upload(admin_client_, mixed_rows())

    assert response["Location"] == reverse("admin:catalog_importbatch_change", args=[batch.pk])
    assert (batch.status, batch.rows_new, batch.rows_changed, batch.rows_unchanged) == (
        "previewed",
        3,
        1,
        1,
    )
    assert (catalog_state(), history_total()) == (state, history)
    page = admin_client_.get(response["Location"], {"show": "changed"})
    assert "Summary: 5 rows" in page.text
    assert "Action Name: 1 row" in page.text  # changed columns
    old_name = Mitigation.objects.get(number=9001).name
    assert f"<del>{old_name}</del>" in page.text
    assert "<ins>Renamed in the sheet</ins>" in page.text
    assert "Confirm and import" in page.text
    (stored,) = stored_files(upload_dir)
    assert stat.S_IMODE(upload_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert batch.file_name not in stored.name  # a random name, never the uploader's
    for served in [settings.STATIC_ROOT, *settings.STATICFILES_DIRS]:
        assert not stored.resolve().is_relative_to(Path(served).resolve())


def test_the_default_upload_folder_is_outside_every_served_folder():
    import airm_site.settings as defaults

    folder = Path(defaults.IMPORT_UPLOAD_DIR).resolve()
    assert folder.name == "airm-curator-imports"
    for served in [defaults.STATIC_ROOT, *defaults.STATICFILES_DIRS, defaults.BASE_DIR]:
        assert not folder.is_relative_to(Path(served).resolve())


def test_an_upload_folder_others_can_open_is_refused(admin_client_, upload_dir):
    upload_dir.mkdir(mode=0o755)
    upload_dir.chmod(0o755)

    with pytest.raises(ImproperlyConfigured, match="must be a folder owned by this user"):
        admin_client_.post(UPLOAD, {"kind": "mitigations", "file": csv_upload(mixed_rows())})


def test_a_10000_row_preview_is_summarised_and_paginated(
    admin_client_, django_assert_max_num_queries
):
    rows = [MIT_MITIGATION_HEADER] + [
        [f"A{10000 + n}", f"Idea {n}", "", "NIST2024", "3.1"] for n in range(10_000)
    ]
    batch, response = upload(admin_client_, rows)
    assert (batch.rows_total, batch.rows_new, ImportRow.objects.filter(batch=batch).count()) == (
        10_000,
        10_000,
        10_000,
    )

    with django_assert_max_num_queries(10):
        page = admin_client_.get(response["Location"], {"show": "new", "page": 7})

    body = page.text.split('<table class="preview-rows">', 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr>") == 50 + 1  # the rows and the header
    assert "page 7 of 200" in page.text
    assert "A10300" in page.text and "A10350" not in page.text


# --------------------------------------------------------------------------- confirm, cancel


def test_the_uploader_confirms_and_everything_is_applied_with_history(
    admin_client_, admin, upload_dir, run_tasks
):
    batch, _ = upload(admin_client_, mixed_rows())

    response = admin_client_.post(reverse("admin:catalog_importbatch_confirm", args=[batch.pk]))

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLYING  # answered at once, applied in a task
    waiting = admin_client_.get(response["Location"])
    assert "Waiting for a background worker" in waiting.text
    assert "0 of 5 rows done" in waiting.text
    assert run_tasks() == 1
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED and batch.applied_at
    assert Mitigation.objects.filter(number__in=[7000, 7001, 7002]).count() == 3
    renamed = Mitigation.objects.get(number=9001)
    assert renamed.name == "Renamed in the sheet"
    latest = renamed.history.latest()
    assert (latest.history_user, latest.history_change_reason, latest.history_ref) == (
        admin,
        f"Import of mitigations.csv (batch {batch.pk})",
        f"import-batch:{batch.pk}",
    )
    assert stored_files(upload_dir) == []
    page = admin_client_.get(response["Location"])
    assert "Applied: 3 new, 1 changed, 1 unchanged" in page.text
    assert "Back to import batch" in page.text
    batch_page = admin_client_.get(reverse("admin:catalog_importbatch_change", args=[batch.pk]))
    assert "Revert this import" in batch_page.text


def test_only_the_uploader_can_confirm_or_cancel(client_for, admin, django_user_model):
    batch, _ = upload(client_for(admin), mixed_rows())
    other = django_user_model.objects.create_superuser("otto-admin", "otto@example.org", "x")
    client = client_for(other)
    state = catalog_state()

    page = client.get(reverse("admin:catalog_importbatch_change", args=[batch.pk]))
    assert "Only ada-admin, who uploaded this file, can confirm or cancel it." in page.text
    assert "Confirm and import" not in page.text
    assert (
        client.post(reverse("admin:catalog_importbatch_confirm", args=[batch.pk])).status_code
        == 403
    )
    assert (
        client.post(reverse("admin:catalog_importbatch_cancel", args=[batch.pk])).status_code == 403
    )

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED
    assert catalog_state() == state


def test_confirm_and_cancel_accept_only_post(admin_client_):
    batch, _ = upload(admin_client_, mixed_rows())
    assert (
        admin_client_.get(reverse("admin:catalog_importbatch_confirm", args=[batch.pk])).status_code
        == 405
    )
    assert (
        admin_client_.get(reverse("admin:catalog_importbatch_cancel", args=[batch.pk])).status_code
        == 405
    )


def test_cancelling_deletes_the_upload_and_writes_nothing(admin_client_, upload_dir):
    batch, _ = upload(admin_client_, mixed_rows())
    state = catalog_state()

    admin_client_.post(reverse("admin:catalog_importbatch_cancel", args=[batch.pk]))

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.CANCELLED
    assert stored_files(upload_dir) == []
    assert catalog_state() == state
    response = admin_client_.post(
        reverse("admin:catalog_importbatch_confirm", args=[batch.pk]), follow=True
    )
    assert "only a previewed batch without errors can be confirmed" in response.text


def test_a_preview_with_errors_fails_at_once_and_cannot_be_confirmed(admin_client_, upload_dir):
    rows = mixed_rows()
    rows.append(["A7100", "Cites nothing known", "", "Nobody2099", "3.1"])
    state = catalog_state()

    batch, response = upload(admin_client_, rows)

    assert (batch.status, batch.rows_error) == (ImportBatch.Status.FAILED, 1)
    assert stored_files(upload_dir) == []
    page = admin_client_.get(response["Location"])
    assert "No source document “Nobody2099”" in page.text
    assert "Confirm and import" not in page.text
    admin_client_.post(reverse("admin:catalog_importbatch_confirm", args=[batch.pk]))
    assert catalog_state() == state


def test_a_file_that_cannot_be_read_shows_its_problem(admin_client_):
    batch, response = upload(admin_client_, [["Fruit", "Colour"], ["Apple", "Red"]])

    assert batch.status == ImportBatch.Status.FAILED
    page = admin_client_.get(response["Location"])
    assert "The file cannot be imported" in page.text
    assert (
        "Row 1 is not the header of any layout this import knows (AIRM Curator export: ID, Name, "
        "Source, …; MIT AI Risk Mitigation Database export (mitigations): Action ID, Action Name, "
        "Action Source, …)."
    ) in page.text


def test_a_confirm_after_the_catalog_changed_writes_nothing(admin_client_, admin, run_tasks):
    batch, _ = upload(admin_client_, mixed_rows())
    services.mitigation_update(
        mitigation=Mitigation.objects.get(number=9001),
        data={"name": "Edited meanwhile"},
        actor=admin,
        reason="Meanwhile",
    )
    state = catalog_state()

    response = confirm(admin_client_, batch, run_tasks)

    batch.refresh_from_db()
    assert (batch.status, batch.note) == (ImportBatch.Status.FAILED, STALE_MESSAGE)
    assert STALE_MESSAGE in admin_client_.get(response["Location"]).text
    assert catalog_state() == state


def test_an_upload_over_the_size_limit_is_refused_and_not_kept(admin_client_, settings, upload_dir):
    settings.IMPORT_MAX_BYTES = 200
    rows = mixed_rows(new=20)

    response = admin_client_.post(UPLOAD, {"kind": "mitigations", "file": csv_upload(rows)})

    assert response.status_code == 200
    assert "The file is larger than 200\xa0bytes, the most one import takes." in response.text
    assert not ImportBatch.objects.exists()
    assert stored_files(upload_dir) == []


def test_an_abandoned_preview_expires_and_its_file_is_deleted(admin_client_, settings, upload_dir):
    old, _ = upload(admin_client_, mixed_rows())
    ImportBatch.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.IMPORT_PREVIEW_HOURS + 1)
    )

    upload(admin_client_, mixed_rows())

    old.refresh_from_db()
    assert (old.status, old.stored_file) == (ImportBatch.Status.CANCELLED, "")
    assert len(stored_files(upload_dir)) == 1


# --------------------------------------------------------------------------- revert


def test_an_applied_batch_is_reverted_from_its_page_with_a_reason(admin_client_, run_tasks):
    state = catalog_state()
    batch, _ = upload(admin_client_, mixed_rows())
    confirm(admin_client_, batch, run_tasks)
    url = reverse("admin:catalog_importbatch_revert", args=[batch.pk])

    assert "Reason for the revert" in admin_client_.get(url).text
    assert "This field is required" in admin_client_.post(url, {"reason": ""}).text
    response = admin_client_.post(url, {"reason": "Wrong sheet"}, follow=True)

    assert "Reverted batch" in response.text
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.REVERTED
    assert catalog_state() == state


def test_a_refused_revert_says_why_on_the_form(admin_client_, admin, run_tasks):
    batch, _ = upload(admin_client_, mixed_rows())
    confirm(admin_client_, batch, run_tasks)
    services.mitigation_update(
        mitigation=Mitigation.objects.get(number=7000),
        data={"name": "Later"},
        actor=admin,
        reason="Later",
    )

    response = admin_client_.post(
        reverse("admin:catalog_importbatch_revert", args=[batch.pk]), {"reason": "Undo"}
    )

    assert "changed again after import-batch:" in response.text


def test_the_batch_list_shows_who_what_and_counts(admin_client_):
    upload(admin_client_, mixed_rows())
    page = admin_client_.get(reverse("admin:catalog_importbatch_changelist"))
    assert "mitigations.csv" in page.text and "ada-admin" in page.text
    assert "Import a spreadsheet" in page.text


# --------------------------------------------------------------------------- exports


def test_export_actions_download_the_selection_formula_safe(admin_client_):
    record = MitigationFactory(
        name="=1+1 as a name", source=SourceDocument.objects.get(short_ref="NIST2024")
    )

    response = admin_client_.post(
        reverse("admin:catalog_mitigation_changelist"),
        {"action": "export_csv", "_selected_action": [record.pk]},
    )

    rows = csv_text(b"".join(response.streaming_content))
    assert [row[:2] for row in rows[1:]] == [[record.public_id, "'=1+1 as a name"]]


def test_export_of_the_filtered_list_follows_the_changelist_filters(admin_client_):
    retired = MitigationFactory(source=SourceDocument.objects.get(short_ref="NIST2024"))
    services.mitigation_retire(mitigation=retired, actor=None, reason="Gone")
    url = reverse("admin:catalog_mitigation_export", args=["csv"])

    response = admin_client_.get(url, {"status__exact": "retired"})

    rows = csv_text(b"".join(response.streaming_content))
    # (A9058 is the demo's retired record.)
    assert [row[0] for row in rows[1:]] == ["A9058", retired.public_id]
    assert admin_client_.get(url, {"nonsense": "1"}).status_code == 400
    assert (
        admin_client_.get(reverse("admin:catalog_mitigation_export", args=["exe"])).status_code
        == 404
    )


def test_history_rows_of_a_batch_link_back_to_it(admin_client_):
    from catalog.history import ref_url

    batch, _ = upload(admin_client_, mixed_rows())
    page = reverse("admin:catalog_importbatch_change", args=[batch.pk])
    assert ref_url(batch.ref) == ref_url(batch.revert_ref) == page


# --------------------------------------------------------------------------- the admin's home


def test_the_admin_home_lists_imports_and_reverts_among_recent_changes(
    admin_client_, django_assert_max_num_queries, run_tasks
):
    batch, _ = upload(admin_client_, mixed_rows())
    confirm(admin_client_, batch, run_tasks)
    admin_client_.post(
        reverse("admin:catalog_importbatch_revert", args=[batch.pk]), {"reason": "Wrong sheet"}
    )
    response = admin_client_.get(reverse("admin:index"))
    text = " ".join(response.text.split())
    panel = text[text.index('id="recent-actions-module"') :]
    assert "None available" not in panel
    assert "Recent changes to the catalog" in panel
    revert = panel.index("Revert of import batch")
    imported = panel.index(f"Import of mitigations.csv (batch {batch.pk})")
    assert revert < imported  # newest first
    assert "4 mitigations" in panel  # the import: 3 new rows and 1 changed, as one entry
    batch_page = reverse("admin:catalog_importbatch_change", args=[batch.pk])
    assert f'<a href="{batch_page}">import batch #{batch.pk}</a>' in panel
    assert f'<a href="{batch_page}">revert of import batch #{batch.pk}</a>' in panel

    MitigationFactory.create_batch(20)
    with django_assert_max_num_queries(20):
        admin_client_.get(reverse("admin:index"))


def test_a_single_record_change_links_to_the_record(admin_client_, admin):
    record = Mitigation.objects.get(number=9002)
    services.mitigation_update(
        mitigation=record, data={"name": "Certified robustness"}, actor=admin, reason="Clearer"
    )
    text = admin_client_.get(reverse("admin:index")).text
    panel = text[text.index('id="recent-actions-module"') :]
    assert "Clearer" in panel
    assert f'href="{record.get_absolute_url()}"' in panel
