"""A researcher copies a record's citation; a tool builder reads the API documentation and
tries a call in it, all from the site's own files."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from catalog.models import Mitigation

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_a_researcher_copies_the_citation_in_each_format(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    mitigation = Mitigation.objects.get(name="Adversarial training")
    page.goto(mitigation.get_absolute_url())
    citation = page.get_by_role("complementary").locator("#citation")
    expect(citation).to_contain_text(f"[{mitigation.public_id}]")

    page.get_by_role("button", name="Copy citation").click()
    expect(page.locator("#citation-status")).to_have_text("Citation copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == citation.inner_text().strip()

    page.get_by_text("BibTeX, RIS and CSL-JSON").click()
    page.get_by_role("button", name="Copy BibTeX").click()
    expect(page.locator("#citation-status")).to_have_text("BibTeX copied.")
    bibtex = page.evaluate("navigator.clipboard.readText()")
    assert bibtex.startswith(f"@misc{{airm-{mitigation.public_id},")
    assert bibtex.rstrip().endswith("}")

    with page.expect_download() as download:
        page.get_by_role("link", name=f"Download {mitigation.public_id}.ris").click()
    assert download.value.suggested_filename == f"{mitigation.public_id}.ris"
    context.close()


def test_without_javascript_the_citations_are_there_without_buttons(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto(Mitigation.objects.get(name="Adversarial training").get_absolute_url())
    expect(page.locator("#citation")).to_be_visible()
    expect(page.get_by_role("button", name="Copy citation")).to_be_hidden()
    context.close()


def test_the_api_documentation_works_from_the_sites_own_files(page, live_server):
    origins = set()
    page.on(
        "requestfinished",
        lambda request: origins.add(urlsplit(request.url).netloc or request.url.split(":")[0]),
    )
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.get_by_text("AIRM Curator API", exact=False).first).to_be_visible()
    operation = page.locator("#operations-mitigations-mitigations_list")
    expect(operation).to_be_visible()
    operation.get_by_text("List mitigations").click()
    with page.expect_response(re.compile(r"/api/v1/mitigations/$")) as answer:
        operation.get_by_role("button", name="Execute").click()  # the docs open ready to try
    assert answer.value.status == 200
    expect(operation.locator(".responses-wrapper")).to_contain_text('"count": 57', timeout=15_000)
    assert origins == {urlsplit(live_server.url).netloc}

    page.goto(f"{live_server.url}/api/v1/redoc/")
    page.get_by_role("link", name="mitigations").first.click()
    expect(page.get_by_role("heading", name="List mitigations")).to_be_visible()
    assert origins <= {urlsplit(live_server.url).netloc, "blob"}
