"""An admin imports a spreadsheet: upload, read the preview, confirm, and revert it."""

import csv

import pytest
from playwright.sync_api import expect

from catalog.models import ImportBatch, Mitigation
from tests.spreadsheets import MIT_MITIGATION_HEADER

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def sheet(tmp_path):
    renamed = Mitigation.objects.get(number=9001)
    path = tmp_path / "workshop.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(
            [
                MIT_MITIGATION_HEADER,
                ["A7001", "Canary prompts in every release", "", "NIST2024", "3.5"],
                ["A7002", "Second reviewer for weight access", "", "NIST2024", "2.1"],
                [
                    renamed.public_id,
                    "Renamed at the workshop",
                    renamed.definition,
                    renamed.source.short_ref,
                    "",
                ],
            ]
        )
    return path, renamed


def test_an_admin_previews_confirms_and_reverts_an_import(
    page, live_server, signed_in, sheet, settings, tmp_path, worker
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    worker()
    path, renamed = sheet
    signed_in("demo-admin", "demo-admin-pass")

    page.goto(f"{live_server.url}/admin/catalog/mitigation/")
    page.get_by_role("link", name="Import a spreadsheet").click()
    expect(page.get_by_label("The file holds")).to_have_value("mitigations")
    page.get_by_label("Spreadsheet").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()

    summary = page.get_by_role("region", name="Summary: 3 rows")
    expect(summary).to_contain_text("2 new")
    expect(summary).to_contain_text("1 changed")
    assert Mitigation.objects.get(number=9001).name == renamed.name  # nothing written yet

    page.get_by_role("link", name="Changed (1)").click()
    rows = page.get_by_role("table").filter(has_text="Changes (old → new)")
    expect(rows).to_contain_text(renamed.name)
    expect(rows.locator("ins")).to_contain_text("Renamed at the workshop")

    page.get_by_role("button", name="Confirm and import").click()
    # The job's page follows the worker, then shows the report (its script reloads it).
    expect(page.get_by_role("heading", level=1)).to_contain_text("Import of")
    expect(page.get_by_role("region", name="Report")).to_contain_text(
        "Applied: 2 new, 1 changed", timeout=120_000
    )
    assert Mitigation.objects.get(number=9001).name == "Renamed at the workshop"
    page.get_by_role("link", name="Back to import batch").click()

    page.get_by_role("link", name="Revert this import…").click()
    page.get_by_label("Reason for the revert").fill("Imported the draft by mistake")
    page.get_by_role("button", name="Revert the whole batch").click()
    expect(page.locator(".messagelist")).to_contain_text("Reverted batch")
    assert Mitigation.objects.get(number=9001).name == renamed.name
    assert not Mitigation.objects.filter(number__in=[7001, 7002]).exists()
    assert ImportBatch.objects.get().status == ImportBatch.Status.REVERTED
