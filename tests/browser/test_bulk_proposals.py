"""A contributor proposes changes from a spreadsheet; a curator approves the whole batch."""

import csv
import re

import pytest
from playwright.sync_api import expect

from catalog.models import Mitigation

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

HEADER = ["Action ID", "Action Name", "Action Definition", "Action Source", "MitigationCode"]
NEW_ONE = "Rotate red-team members between model releases"
NEW_TWO = "Keep a register of third-party evaluators and their access"


@pytest.fixture
def sheet(tmp_path):
    """Two new mitigations (one with its own ID) and a new name for A9002, in MIT's layout."""
    path = tmp_path / "workshop-proposals.csv"
    record = Mitigation.objects.get(number=9002)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [
                HEADER,
                [
                    "A7101",
                    NEW_ONE,
                    "Fresh testers find failure modes the previous team had learnt to overlook.",
                    "NIST2024",
                    "3.1",
                ],
                ["", NEW_TWO, "", "NIST2024", "4.5"],
                [
                    record.public_id,
                    "Certified robustness guarantees",
                    record.definition,
                    record.source.short_ref,
                    "3.1",
                ],
            ]
        )
    return path


def test_a_spreadsheet_becomes_a_batch_that_a_curator_approves(
    person, sheet, settings, tmp_path, worker
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    worker()  # the background worker, as `make run` starts it beside the server

    # The contributor uploads the sheet from "My proposals" and reads the preview.
    author = person("demo-contributor")
    author.goto("/review/mine/")
    author.get_by_role("link", name="Propose from a spreadsheet").click()
    author.get_by_label("Spreadsheet").set_input_files(str(sheet))
    author.get_by_role("button", name="Upload and preview").click()

    summary = author.get_by_role("region", name="Summary: 3 rows")
    expect(summary).to_contain_text("2 new")
    expect(summary).to_contain_text("1 changed")
    expect(summary).to_contain_text("3 proposals")
    rows = author.get_by_role("table").filter(has_text="Changes (old → new)")
    expect(rows).to_contain_text("Edit of A9002: name")
    expect(rows.locator("ins")).to_contain_text("Certified robustness guarantees")
    author.get_by_role("link", name="New (2)").click()
    expect(author.get_by_role("table").filter(has_text=NEW_ONE)).to_contain_text(
        "New mitigation A7101"
    )
    assert not Mitigation.objects.filter(number=7101).exists()  # nothing written yet

    # Confirming asks why, then submits the three proposals as one batch.
    author.get_by_role("button", name="Confirm and submit for review").click()
    expect(author.get_by_role("alert")).to_contain_text("Say why these changes should be made")
    author.get_by_label("Why these changes?").fill(
        "Agreed at the spring evaluation workshop; each item is in the cited framework."
    )
    author.get_by_role("button", name="Confirm and submit for review").click()
    # A page follows the background work, then reports (its script reloads it when done).
    expect(author.get_by_role("heading", level=1)).to_contain_text("Proposals from")
    expect(author.get_by_role("region", name="Report")).to_contain_text(
        "your 3 proposals are in the review queue", timeout=120_000
    )
    author.get_by_role("link", name=re.compile(r"Batch #\d+")).click()
    expect(author.get_by_role("heading", level=1)).to_have_text("workshop-proposals.csv")
    batch_url = author.url
    expect(author.get_by_role("button", name="Approve all")).to_have_count(0)

    # A curator finds the batch in the queue and approves it as a whole.
    curator = person("demo-curator")
    curator.goto("/review/")
    curator.get_by_role("link", name=re.compile(r"Batch #\d+: workshop-proposals\.csv")).click()
    assert curator.url == batch_url
    expect(curator.get_by_role("table")).to_contain_text(NEW_TWO)
    curator.get_by_role("button", name="Approve all").click()
    # A confirmation step first: how many, and what approving does.
    expect(curator.get_by_role("heading", level=1)).to_have_text("Approve all 3 proposals?")
    assert not Mitigation.objects.filter(number=7101).exists()
    curator.get_by_role("button", name="Yes, approve all 3").click()
    expect(curator.get_by_role("region", name="Report")).to_contain_text(
        "Approved and applied 3 of the 3 proposals awaiting review.", timeout=120_000
    )
    curator.get_by_role("link", name=re.compile(r"Back to batch")).click()
    expect(curator.locator(".badge--approved")).to_have_count(3)

    # The records are in the public catalog.
    curator.goto("/mitigations/A7101/")
    expect(curator.get_by_role("heading", level=1)).to_contain_text(NEW_ONE)
    expect(curator.locator("main")).to_contain_text("3.1")
    curator.goto("/mitigations/A9002/")
    expect(curator.get_by_role("heading", level=1)).to_contain_text(
        "Certified robustness guarantees"
    )
    curator.goto("/mitigations/?q=register+of+third-party+evaluators")
    curator.get_by_role("link", name=re.compile(NEW_TWO)).click()
    expect(curator.get_by_role("heading", level=1)).to_contain_text(NEW_TWO)
