"""A new source document, from a contributor's proposal to its public page."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_a_contributor_proposes_a_source_and_a_curator_approves_it(person, page, live_server):
    # A contributor finds the offer on the sources page and proposes the document.
    author = person("demo-contributor")
    author.goto("/sources/")
    author.get_by_role("link", name="Propose a source document").click()
    author.get_by_label("Short reference").fill("Example2026")
    author.get_by_label("Title").fill("Frontier model safeguards in practice")
    author.get_by_label("Authors").fill("Ann Example\nBo Other")
    author.get_by_label("Year").fill("2026")
    author.get_by_label("Type").select_option(label="Preprint")
    author.get_by_label("URL").fill("https://example.org/safeguards")
    author.get_by_label("DOI").fill("10.5555/example.2026")
    author.get_by_label("Abstract").fill("How laboratories put safeguards in place.")
    author.get_by_label("Rationale").fill("It states mitigations the catalog lacks.")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.locator(".messages")).to_contain_text("your proposal is in the review queue")
    expect(author.get_by_role("heading", level=1)).to_contain_text(
        "New source document: Example2026"
    )
    # The author is offered no decision on their own proposal.
    expect(author.get_by_role("button", name="Approve")).to_have_count(0)

    # A curator finds it in the queue and approves it.
    curator = person("demo-curator")
    curator.goto("/review/")
    curator.get_by_role("link", name=re.compile("New source document: Example2026")).click()
    expect(curator.get_by_role("table")).to_contain_text("Frontier model safeguards in practice")
    curator.get_by_role("button", name="Approve").click()
    expect(curator.locator(".messages")).to_contain_text("Approved and applied")

    # The source page appears, for everyone.
    curator.get_by_role("link", name=re.compile("Example2026: Frontier model")).click()
    expect(curator.get_by_role("heading", level=1)).to_contain_text(
        "Frontier model safeguards in practice"
    )
    page.goto(f"{live_server.url}/sources/")
    page.get_by_role("link", name="Example2026").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Frontier model safeguards in practice"
    )
