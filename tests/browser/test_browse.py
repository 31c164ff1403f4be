"""A visitor browses: filters and searches, reads a record, follows "Also in", reads the
coverage chart and clicks a cell, and downloads the filtered list as CSV."""

import csv
import re

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def results_heading(page):
    return page.locator("#results-title")


def test_a_visitor_filters_and_searches_the_list(page, live_server):
    page.goto(f"{live_server.url}/mitigations/")
    facets = page.get_by_role("complementary", name="Filter")
    facets.get_by_role("link", name=re.compile(r"^3\.1 Testing & Auditing")).click()
    expect(page).to_have_url(re.compile(r"airm-preliminary=3\.1"))
    expect(results_heading(page)).to_contain_text("10 mitigations")

    facets.get_by_text("AI lifecycle stage", exact=True).click()  # open the facet group
    facets.get_by_role("link", name=re.compile(r"^Deploy")).click()
    expect(results_heading(page)).to_contain_text("2 mitigations")
    expect(
        page.get_by_role("link", name=re.compile("Remove filter AI lifecycle stage: Deploy"))
    ).to_be_visible()

    page.get_by_label("Search names, definitions and source sections").fill("generative")
    page.get_by_role("button", name="Search").click()
    expect(results_heading(page)).to_contain_text("1 mitigation")
    expect(page.locator(".result-list")).to_contain_text(
        "Red teaming of generative AI in the deployment context"
    )
    # The filters survived the search: the state is all in the address.
    expect(page).to_have_url(re.compile(r"lifecycle=deploy"))
    expect(page).to_have_url(re.compile(r"q=generative"))


def test_sorting_applies_on_change_and_an_empty_result_offers_a_way_out(page, live_server):
    page.goto(f"{live_server.url}/mitigations/?source=Uuk2024")
    page.get_by_label("Sort by").select_option("name")
    expect(page).to_have_url(re.compile(r"sort=name"))
    titles = page.locator(".result__title a").all_inner_texts()
    names = [title.split(" ", 1)[1] for title in titles]
    assert names == sorted(names)

    page.goto(f"{live_server.url}/mitigations/?source=Uuk2024&lifecycle=deploy")
    expect(page.get_by_role("status")).to_contain_text("No mitigation matches all of these filters")
    page.get_by_role("link", name="2 results").click()
    expect(results_heading(page)).to_contain_text("2 mitigations")


def test_a_visitor_opens_a_record_and_follows_also_in(page, live_server):
    page.goto(f"{live_server.url}/mitigations/?q=adversarial+training")
    page.get_by_role("link", name=re.compile(r"Adversarial training$")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Adversarial training")
    expect(page.get_by_role("region", name="Source document")).to_contain_text("Gipiškis2024")
    expect(page.get_by_role("region", name="History")).to_contain_text("Demo content")

    also_in = page.get_by_role("region", name="Also in 2.3 Model Safety Engineering")
    also_in.get_by_role("link", name=re.compile("Restrict web access")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Restrict web access during AI training"
    )
    page.go_back()
    page.get_by_role("region", name="Also in 2.3 Model Safety Engineering").get_by_role(
        "link", name=re.compile(r"^All 5 mitigations in 2\.3")
    ).click()
    expect(page).to_have_url(re.compile(r"/mitigations/\?airm-preliminary=2\.3$"))
    expect(results_heading(page)).to_contain_text("5 mitigations")


def test_a_visitor_reads_the_coverage_chart_and_clicks_a_cell(page, live_server):
    page.goto(f"{live_server.url}/coverage/")
    table = page.get_by_role("table", name=re.compile("Active mitigations by"))
    expect(table).to_be_visible()
    cell = table.get_by_role(
        "link", name=re.compile(r"mitigations: 3 Operational Process Controls × NIST2024")
    )
    count = int(cell.inner_text().split()[0])
    assert count > 0
    cell.click()
    expect(page).to_have_url(re.compile(r"airm-preliminary=3&source=NIST2024"))
    expect(results_heading(page)).to_contain_text(f"{count} mitigation")

    page.goto(f"{live_server.url}/coverage/")
    page.get_by_role("link", name="AI lifecycle stage").click()
    expect(page.get_by_role("table")).to_contain_text("Verify and Validate")


def test_a_visitor_downloads_the_filtered_list_as_csv(page, live_server):
    page.goto(f"{live_server.url}/mitigations/?source=NIST2024&lifecycle=deploy")
    expect(results_heading(page)).to_contain_text("1 mitigation")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert re.fullmatch(r"airm-mitigations-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["Name"] for row in rows] == [
        "Red teaming of generative AI in the deployment context"
    ]
    assert rows[0]["lifecycle"] == "deploy Deploy"
