"""Source documents and taxonomy nodes in the admin: django-import-export's upload → preview →
confirm, bounded, through the services; and the admin's exports."""

from __future__ import annotations

import io

import pytest
import tablib
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog import services
from catalog.models import SourceDocument, TaxonomyNode
from catalog.resources import (
    DocumentsSpreadsheet,
    NodesSpreadsheet,
    SourceDocumentResource,
    TaxonomyNodeResource,
)
from catalog.table_exports import node_table, source_table
from tests.spreadsheets import catalog_state, csv_text, history_total, write_csv

pytestmark = pytest.mark.django_db

SOURCES_IMPORT = "/admin/catalog/sourcedocument/import/"
SOURCES_CONFIRM = "/admin/catalog/sourcedocument/process_import/"
NODES_IMPORT = "/admin/catalog/taxonomynode/import/"
NODES_CONFIRM = "/admin/catalog/taxonomynode/process_import/"
HEADER = ["Short reference", "Title", "Year", "Type"]


def upload(name: str, rows) -> SimpleUploadedFile:
    buffer = io.StringIO()
    import csv

    csv.writer(buffer).writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8-sig"), content_type="text/csv")


def preview(client, url, file):
    return client.post(url, {"import_file": file, "format": "0", "resource": "0"})


def confirm(client, url, page):
    form = page.context["confirm_form"]
    return client.post(url, {name: form.initial.get(name, "") for name in form.fields})


@pytest.fixture
def admin_client(client_for, admin):
    return client_for(admin)


# --------------------------------------------------------------------------- the resources


def test_the_resource_writes_through_the_services_with_history(admin):
    existing = SourceDocument.objects.get(short_ref="NIST2024")
    dataset = tablib.Dataset(headers=["Short reference", "Title", "Year", "Type"])
    dataset.append(["New2026", "A new one", "2026", "Preprint"])
    dataset.append(["NIST2024", "Renamed", str(existing.year or ""), existing.doc_type])

    result = SourceDocumentResource(actor=admin, reason="Workshop sheet").import_data(
        dataset, raise_errors=True
    )

    assert (result.totals["new"], result.totals["update"]) == (1, 1)
    new = SourceDocument.objects.get(short_ref="New2026")
    assert (new.year, new.doc_type) == (2026, "preprint")
    assert new.history.get().history_change_reason == "Workshop sheet"
    existing.refresh_from_db()
    assert existing.title == "Renamed"
    latest = existing.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (admin, "Workshop sheet")


def test_the_node_resource_places_a_child_under_its_parent(admin):
    dataset = tablib.Dataset(headers=["Taxonomy", "Code", "Name", "Parent", "Order", "Catch-all"])
    dataset.append(["airm-preliminary", "3.1.1", "Red teaming", "3.1", "", "no"])

    TaxonomyNodeResource(actor=admin, reason="New level").import_data(dataset, raise_errors=True)

    node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="3.1.1")
    assert (node.path, node.order, node.is_catch_all) == ("/3/3.1/3.1.1/", 0, False)
    assert node.history.get().history_user == admin


# --------------------------------------------------------------------------- the admin


def test_the_changelists_offer_both_imports_and_the_exports(admin_client):
    for model, kind in (("sourcedocument", "documents"), ("taxonomynode", "nodes")):
        page = admin_client.get(reverse(f"admin:catalog_{model}_changelist")).text
        assert f'href="/admin/catalog/{model}/import/"' in page
        assert f"?kind={kind}" in page
        for fmt in ("csv", "xlsx", "json"):
            assert f"/admin/catalog/{model}/export/{fmt}/" in page


@pytest.mark.parametrize("persona_name", ["anonymous", "contributor", "curator"])
def test_only_admins_reach_the_import(client_for, request, persona_name):
    user = request.getfixturevalue(persona_name)
    client = client_for(user)
    for url in (SOURCES_IMPORT, NODES_IMPORT):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
        posted = preview(client, url, upload("s.csv", [HEADER, ["X2026", "X", "", "Preprint"]]))
        assert posted.status_code in (302, 403)
    assert not SourceDocument.objects.filter(short_ref="X2026").exists()


def test_staff_who_may_only_view_cannot_import(client_for, django_user_model):
    staff = django_user_model.objects.create_user("vera-viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_sourcedocument"))
    client = client_for(staff)
    assert client.get(SOURCES_IMPORT).status_code == 403
    posted = preview(client, SOURCES_IMPORT, upload("s.csv", [HEADER, ["X2026", "X", "", ""]]))
    assert posted.status_code == 403
    assert client.get(reverse("admin:catalog_sourcedocument_changelist")).status_code == 200


def test_preview_then_confirm_writes_with_history(admin_client, admin):
    file = upload(
        "workshop.csv",
        [
            ["ShortRef", "Title", "Year", "Type"],  # MIT's heading works too
            ["Example2026", "A made-up framework", "2026", "Preprint"],
        ],
    )
    before = catalog_state()

    page = preview(admin_client, SOURCES_IMPORT, file)

    assert page.status_code == 200
    assert "Confirm import" in page.text and "A made-up framework" in page.text
    assert catalog_state() == before  # a dry run

    done = confirm(admin_client, SOURCES_CONFIRM, page)

    assert done.status_code == 302
    document = SourceDocument.objects.get(short_ref="Example2026")
    (row,) = document.history.all()
    assert (row.history_user, row.history_change_reason) == (
        admin,
        "Import of workshop.csv in the admin",
    )


def test_row_errors_name_the_spreadsheet_row_and_the_column_and_nothing_is_written(
    admin_client,
):
    file = upload(
        "bad.csv",
        [
            HEADER,
            ["Good2026", "Fine", "2026", "Preprint"],
            [],
            ["Bad2026", "Wrong year", "20x6", "Preprint"],
            ["Worse2026", "Wrong type", "2026", "Poem"],
        ],
    )
    before, history = catalog_state(), history_total()

    page = preview(admin_client, SOURCES_IMPORT, file)

    assert page.status_code == 200
    assert "confirm_form" not in page.context or not page.context["confirm_form"]
    invalid = {row.number: row.field_specific_errors for row in page.context["result"].invalid_rows}
    assert invalid == {
        4: {"Year": ["“20x6” is not a whole number."]},
        5: {
            "Type": [
                "“Poem” is not a document type; use one of Preprint, Legislation, Other "
                "government document, Other non-government document."
            ]
        },
    }
    assert catalog_state() == before and history_total() == history


def test_a_service_refusal_is_an_error_of_its_field(admin_client):
    file = upload("long.csv", [HEADER, ["Long2026", "x" * 501, "2026", "Preprint"]])
    page = preview(admin_client, SOURCES_IMPORT, file)
    (row,) = page.context["result"].invalid_rows
    assert row.number == 2 and "Title" in row.field_specific_errors


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("paper.pdf", b"%PDF-1.4 nothing", "a PDF document, not a spreadsheet"),
        ("empty.csv", b"", "The submitted file is empty."),
        ("nul.csv", b"Short reference,Title\r\nA\x00B,T\r\n", "NUL character"),
        ("odd.csv", b"Colour,Flavour\r\nred,sweet\r\n", "not the header of any layout"),
        ("deep.json", b"[" * 40 + b"]" * 40, "nests objects and lists more than 16 levels"),
    ],
)
def test_files_that_cannot_be_read_say_why(admin_client, name, data, problem):
    page = preview(
        admin_client, SOURCES_IMPORT, SimpleUploadedFile(name, data, content_type="text/csv")
    )
    assert page.status_code == 200
    assert problem in page.text
    assert "Confirm import" not in page.text


def test_a_file_over_the_size_limit_is_cut_off_before_it_is_read(admin_client, settings):
    settings.IMPORT_MAX_BYTES = 200
    rows = [HEADER, *[[f"X{i}", "A title " * 4, "2026", "Preprint"] for i in range(20)]]
    response = preview(admin_client, SOURCES_IMPORT, upload("big.csv", rows))
    assert response.status_code == 302
    page = admin_client.get(response["Location"])
    assert "the most one import takes" in page.text
    assert not SourceDocument.objects.filter(short_ref="X1").exists()


def test_the_admins_export_imports_back_with_everything_skipped(admin_client, admin):
    response = admin_client.get("/admin/catalog/sourcedocument/export/csv/")
    data = b"".join(response.streaming_content)
    assert csv_text(data)[0][0] == "Short reference"
    history = history_total()

    page = preview(
        admin_client,
        SOURCES_IMPORT,
        SimpleUploadedFile("back.csv", data, content_type="text/csv"),
    )
    result = page.context["result"]
    assert result.totals["skip"] == SourceDocument.objects.count()
    assert result.totals["new"] == result.totals["update"] == 0
    confirm(admin_client, SOURCES_CONFIRM, page)
    assert history_total() == history


@pytest.mark.parametrize("fmt", ["xlsx", "json"])
def test_xlsx_and_json_downloads_import_back_in_the_admin(admin_client, tmp_path, fmt):
    for table, url in ((source_table(), SOURCES_IMPORT), (node_table(), NODES_IMPORT)):
        buffer = io.BytesIO()
        table.write(fmt, buffer)
        page = preview(admin_client, url, SimpleUploadedFile(f"t.{fmt}", buffer.getvalue()))
        result = page.context["result"]
        assert not result.has_errors() and not result.has_validation_errors()
        assert result.totals["new"] == result.totals["update"] == 0, url


def test_nodes_import_in_the_admin_with_an_unknown_parent_named(admin_client):
    file = upload(
        "nodes.csv",
        [
            ["Taxonomy", "Code", "Name", "Parent", "Catch-all"],
            ["airm-preliminary", "3.1.1", "Red teaming", "3.1", "no"],
            ["airm-preliminary", "3.1.2", "Odd", "9.9", "maybe"],
        ],
    )
    page = preview(admin_client, NODES_IMPORT, file)
    (row,) = page.context["result"].invalid_rows
    assert row.number == 3
    assert set(row.field_specific_errors) == {"Parent", "Catch-all"}
    assert not TaxonomyNode.objects.filter(
        taxonomy__slug="airm-preliminary", code__startswith="3.1."
    ).exists()


def test_formula_cells_are_inert_in_the_admin_export_and_restored_on_import(admin_client, admin):
    services.source_document_create(
        short_ref="Hostile2026", title="=1+1", actor=admin, reason="A test document"
    )
    data = b"".join(admin_client.get("/admin/catalog/sourcedocument/export/csv/").streaming_content)
    row = next(r for r in csv_text(data) if r[0] == "Hostile2026")
    assert row[2] == "'=1+1"
    dataset = DocumentsSpreadsheet().create_dataset(data)
    assert next(r for r in dataset.dict if r["Short reference"] == "Hostile2026")["Title"] == "=1+1"


def test_the_format_reads_a_file_on_disk_like_an_upload(tmp_path):
    path = write_csv(tmp_path / "n.csv", [["Code", "Name", "Taxonomy"], ["1", "One", "lifecycle"]])
    dataset = NodesSpreadsheet().create_dataset(path.read_bytes())
    assert dataset.headers == ["Row", "Taxonomy", "Code", "Name"]
    assert dataset.dict[0]["Row"] == 2


def test_a_confirm_that_no_longer_imports_cleanly_writes_nothing_and_says_why(admin_client, admin):
    file = upload(
        "late.csv",
        [
            ["Short reference", "Document ID", "Title", "Type"],
            ["First2026", "", "Fine", "Preprint"],
            ["Late2026", "777", "Numbered", "Preprint"],
        ],
    )
    page = preview(admin_client, SOURCES_IMPORT, file)
    assert page.context["confirm_form"]
    services.source_document_create(
        short_ref="Meanwhile2026", document_id=777, title="Took the number", actor=admin, reason="x"
    )

    done = confirm(admin_client, SOURCES_CONFIRM, page)

    assert done.status_code == 302
    message = admin_client.get(done["Location"]).text
    assert "Nothing was imported" in message and "row 3" in message
    assert not SourceDocument.objects.filter(short_ref__in=["First2026", "Late2026"]).exists()
