"""A reclassification from proposal to the public page, clicked through by four people."""

import re

import pytest
from playwright.sync_api import expect

from catalog.models import TaxonomyNode

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

RECORD = "A9001"  # "Adversarial training", classified 2.3 in the preliminary taxonomy


def node_pk(code: str) -> int:
    return TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code=code).pk


def test_a_reclassification_is_proposed_reviewed_updated_and_approved(person, live_server):
    # A contributor proposes a reclassification from the record's page.
    author = person("demo-contributor")
    author.goto(f"/mitigations/{RECORD}/")
    author.get_by_role("link", name="Propose a reclassification").click()
    author.get_by_label("In which taxonomy?").select_option(
        label="AI Risk Mitigation Taxonomy (preliminary)"
    )
    author.get_by_role("button", name="Continue").click()
    picker = author.get_by_role(
        "group", name="New node in AI Risk Mitigation Taxonomy (preliminary)"
    )
    # The current classification is chosen, and every node shows its definition.
    expect(picker.get_by_role("radio", name=re.compile(r"^2\.3 Model Safety"))).to_be_checked()
    testing_name = re.compile(r"^3\.1 Testing & Auditing")
    testing = picker.get_by_role("radio", name=testing_name)
    definition = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="3.1").definition
    # ``has`` is looked for inside each option, so it names the radio from the page, not the picker.
    option = picker.locator(
        ".node-picker__option", has=author.get_by_role("radio", name=testing_name)
    )
    expect(option).to_contain_text(definition)
    testing.check()
    author.get_by_label("Rationale").fill("Adversarial training is evaluated like red teaming.")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.locator(".messages")).to_contain_text("your proposal is in the review queue")
    proposal_url = author.url
    expect(author.get_by_role("heading", level=1)).to_contain_text(f"Reclassify {RECORD}")

    # A second contributor sees the proposal but is offered nothing to decide.
    other = person("demo-contributor2")
    other.goto(proposal_url)
    expect(other.get_by_role("heading", level=1)).to_contain_text(f"Reclassify {RECORD}")
    expect(other.get_by_role("button", name="Approve")).to_have_count(0)
    expect(other.get_by_role("heading", name="What you can do")).to_have_count(0)

    # A curator finds it in the queue and asks for changes.
    curator = person("demo-curator")
    curator.goto("/review/")
    curator.get_by_role("link", name=re.compile(f"Reclassify {RECORD}")).click()
    curator.get_by_label("Note to the author (required)").first.fill(
        "Please quote the passage of the source that supports this."
    )
    curator.get_by_role("button", name="Request changes").click()
    expect(curator.locator(".messages")).to_contain_text("Sent back to the author")
    expect(curator.locator(".badge").first).to_have_text("Changes requested")

    # The contributor reads the note, updates the proposal and resubmits it.
    author.goto("/review/mine/")
    expect(author.get_by_role("table")).to_contain_text("Please quote the passage")
    author.get_by_role("link", name=re.compile(f"Reclassify {RECORD}")).click()
    author.get_by_role("link", name="Update the proposal").click()
    author.get_by_label("Quoted passage of the source (optional)").fill(
        "Adversarial training is assessed through red-teaming exercises."
    )
    author.get_by_role("button", name="Save changes").click()
    expect(author.locator(".messages")).to_contain_text("Proposal updated")
    author.get_by_role("button", name="Resubmit").click()
    expect(author.locator(".badge").first).to_have_text("Resubmitted")

    # The curator approves; the change is applied.
    curator.goto(proposal_url)
    expect(curator.locator(".source-quote")).to_contain_text("red-teaming exercises")
    curator.get_by_role("button", name="Approve").click()
    expect(curator.locator(".messages")).to_contain_text("Approved and applied to the catalog")
    expect(curator.locator(".notice--next")).to_contain_text(
        "Nothing else in the queue awaits your decision"
    )
    history = curator.get_by_role("table", name="History entries written by this approval")
    expect(history).to_contain_text("3.1 Testing & Auditing")
    expect(history).to_contain_text("approved by Cyrus Curator")

    # The public page shows the new classification and the approved proposal.
    visitor = curator.context.browser.new_page(base_url=live_server.url)
    visitor.goto(f"/mitigations/{RECORD}/")
    classification = visitor.get_by_role("region", name="Classification")
    expect(classification).to_contain_text("3.1 Testing & Auditing")
    expect(classification).not_to_contain_text("2.3 Model Safety Engineering")
    shaped = visitor.get_by_role("region", name="Changes to this record")
    expect(shaped).to_contain_text("Reclassification in AI Risk Mitigation Taxonomy")
    expect(shaped).to_contain_text("proposed by Chen Contributor")
    credit = visitor.get_by_role("region", name="History").locator(".timeline__entry").first
    expect(credit).to_contain_text("proposed by Chen Contributor · approved by Cyrus Curator")
    credit.get_by_role("link", name=re.compile(r"^proposal #\d+$")).click()
    expect(visitor).to_have_url(re.compile(r"/review/proposals/\d+/$"))
    visitor.close()


def propose(page, link: str, record: str, fields: dict[str, str]) -> str:
    page.goto(f"/mitigations/{record}/")
    page.get_by_role("link", name=link).click()
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".messages")).to_contain_text("your proposal is in the review queue")
    return page.url


def test_every_kind_of_proposal_reaches_a_decision(person):
    author = person("demo-contributor")

    # A new mitigation: similar records are suggested while typing, and must be acknowledged.
    author.goto("/review/propose/")
    author.get_by_label("Name").fill("Adversarial training with synthetic examples")
    expect(author.locator("#similar-mitigations")).to_contain_text("A9001 Adversarial training")
    author.get_by_label("Source document").select_option(label="Gipiškis2024")
    author.get_by_role("group", name="AI Risk Mitigation Taxonomy (preliminary)").get_by_role(
        "radio", name=re.compile(r"^2\.3 Model Safety Engineering")
    ).check()
    author.get_by_label("Rationale").fill("The source adds synthetic examples as a variant.")
    author.get_by_role("button", name="Submit for review").click()
    expect(author.locator("#form-errors")).to_contain_text("Similar mitigations exist")
    author.get_by_label("I have checked the similar mitigations listed").check()
    author.get_by_role("button", name="Submit for review").click()
    expect(author.locator(".messages")).to_contain_text("your proposal is in the review queue")
    new = author.url

    edit = propose(
        author,
        "Propose a change",
        "A9003",
        {"Name": "Restrict internet access during AI training", "Rationale": "The source's words"},
    )
    retire = propose(author, "Propose retirement", "A9004", {"Reason for retiring it": "Unclear"})
    merge = propose(
        author,
        "Propose a merge",
        "A9005",
        {"Merge into (public ID of the record to keep)": "A9006", "Rationale": "Same idea"},
    )

    curator = person("demo-curator")
    curator.goto("/review/")
    expect(curator.locator("table.queue tbody tr")).to_have_count(4)
    for url in (new, edit, merge):
        curator.goto(url)
        curator.get_by_role("button", name="Approve").click()
        expect(curator.locator(".messages")).to_contain_text("Approved and applied")
    curator.goto(retire)
    curator.get_by_label("Note to the author (required)").last.fill("It is a real mitigation.")
    curator.get_by_role("button", name="Reject").click()
    expect(curator.locator(".badge").first).to_have_text("Rejected")

    author.goto(new)
    author.get_by_role(
        "link", name=re.compile(r"A9060 Adversarial training with synthetic")
    ).last.click()
    expect(author.get_by_role("heading", level=1)).to_have_text(
        "Adversarial training with synthetic examples"
    )
    author.goto("/mitigations/A9003/")
    expect(author.get_by_role("heading", level=1)).to_have_text(
        "Restrict internet access during AI training"
    )
    author.goto("/mitigations/A9005/")
    expect(author.get_by_role("note")).to_contain_text("This record was merged into")
    author.goto("/review/mine/")
    expect(author.get_by_role("table")).to_contain_text("It is a real mitigation.")
