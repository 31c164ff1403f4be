"""A classification campaign clicked through: two coders code the demo campaign's ten records
(one by keyboard, one by mouse), the report shows their agreement, a curator accepts what they
agree on and adjudicates the rest, and the record pages show the new classification and its
history."""

from __future__ import annotations

import importlib.util
import re

import pytest
from playwright.sync_api import expect

from catalog.models import Classification, Mitigation
from review.campaigns.demo import DEMO_CAMPAIGN
from review.campaigns.models import Campaign

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def code_by_keyboard(page, code: str) -> None:
    page.wait_for_load_state("load")
    page.keyboard.press("/")
    expect(page.locator("#tree-search")).to_be_focused()
    page.keyboard.type(code)
    page.keyboard.press("Enter")  # picks the first node the search shows
    expect(page.locator(f'input[name="node"][value="{code}"]')).to_be_checked()
    page.keyboard.press("Enter")  # submits


def code_by_mouse(page, code: str) -> None:
    page.locator(f'input[name="node"][value="{code}"]').check()
    page.get_by_label("Reasoning").fill(f"Reads as {code}")
    page.get_by_role("button", name=re.compile("^Submit")).click()


def test_two_coders_a_report_an_adjudication_and_the_record_pages(person, live_server):
    campaign = Campaign.objects.get(name=DEMO_CAMPAIGN)
    records = [
        m.public_id
        for m in Mitigation.objects.filter(source__short_ref="NIST2024").order_by("number")
    ]
    assert len(records) == 10
    disputed = records[:2]

    for username, way in (("demo-contributor", "keyboard"), ("demo-contributor2", "mouse")):
        page = person(username)
        page.goto("/campaigns/")
        page.get_by_role("link", name=DEMO_CAMPAIGN).click()
        expect(page.locator("#progress-mine")).to_have_attribute("value", "0")
        page.get_by_role("link", name="Code the next record").click()
        skipped = None
        if way == "keyboard":
            # "s" skips: the record leaves this coder's queue (they come back to it below).
            page.wait_for_load_state("load")  # the keys' script runs once the page has loaded
            skipped = re.search(r"/code/(A\d+)/", page.url).group(1)
            page.keyboard.press("s")
            expect(page.locator(".messages")).to_contain_text(f"Skipped {skipped}")
        for done in range(10):
            if done == 9 and skipped:
                expect(page.locator(".messages")).to_contain_text("Nothing left for you")
                page.goto(f"/campaigns/{campaign.pk}/code/{skipped}/")
            match = re.search(r"/code/(A\d+)/", page.url)
            assert match, page.url
            public_id = match.group(1)
            # Blind: nobody else's codes, not the current class, before submitting.
            expect(page.get_by_role("heading", name="Other coders")).to_have_count(0)
            expect(page.locator(".campaign-current")).to_have_count(0)
            expect(page.locator("#progress-mine")).to_have_attribute("value", str(done))
            suggestions = page.locator("[data-suggestion]")
            if way == "keyboard" and suggestions.count():
                # A number key picks that suggestion.
                page.keyboard.press("2")
                target = suggestions.nth(1).get_attribute("for")
                expect(page.locator(f'[id="{target}"]')).to_be_checked()
            code = "1.2.3" if (way == "mouse" and public_id in disputed) else "1.2.1"
            if way == "keyboard":
                code_by_keyboard(page, code)
            else:
                code_by_mouse(page, code)
            if done < 8 or (done == 8 and not skipped):
                expect(page).to_have_url(re.compile(r"/code/A\d+/$"))
        expect(page.locator(".messages")).to_contain_text("Nothing left for you to code")

    curator = person("demo-curator")
    curator.goto(campaign.get_absolute_url())
    curator.get_by_role("link", name="Report").click()
    if importlib.util.find_spec("review.campaigns.agreement"):
        table = curator.locator("[data-agreement]")
        expect(table).to_be_visible()
        # Eight of ten records agree at the deepest level (the last row).
        expect(table.locator("tbody tr").last).to_contain_text("0.800")
        expect(curator.locator("table.heatmap")).to_contain_text("1.2.3")

    curator.goto(campaign.get_absolute_url())
    curator.get_by_role("link", name=re.compile("^Adjudication")).click()
    expect(curator.locator("tr.disagreement")).to_have_count(2)
    expect(curator.locator("tr.disagreement").first).to_contain_text("Reads as 1.2.3")
    curator.get_by_role("button", name="Accept the 8 records where the coders agree").click()
    expect(curator.locator(".messages")).to_contain_text("Accepted 8 records")

    # The first disputed record by mouse, the second by keyboard.
    curator.get_by_role("link", name=f"Decide {disputed[0]}").click()
    curator.locator('input[name="node"][value="1.2.3"]').check()
    curator.get_by_label(re.compile("^Note")).fill("Monitoring, as the second coder says.")
    curator.get_by_role("button", name="Decide and reclassify").click()
    expect(curator.locator(".messages")).to_contain_text(f"{disputed[0]} decided")
    curator.get_by_role("link", name=f"Decide {disputed[1]}").click()
    code_by_keyboard(curator, "1.2.1")
    expect(curator.locator(".messages")).to_contain_text(f"{disputed[1]} decided")
    expect(curator.get_by_text("No record awaits a decision.")).to_be_visible()

    for public_id, code in ((disputed[0], "1.2.3"), (disputed[1], "1.2.1"), (records[5], "1.2.1")):
        number = int(public_id[1:])
        assert (
            Classification.objects.get(
                mitigation__number=number, taxonomy=campaign.taxonomy
            ).node.code
            == code
        )
        reader = curator  # any reader: the record page is public
        reader.goto(f"/mitigations/{public_id}/")
        expect(reader.locator("main")).to_contain_text(code)
        expect(reader.locator("main")).to_contain_text(f"campaign #{campaign.pk}")
        expect(reader.locator("main")).to_contain_text("Chen Contributor, Cleo Contributor")


PHONE = {"width": 390, "height": 844}


def test_campaign_pages_fit_a_phone_and_run_under_the_content_security_policy(browser, live_server):
    campaign = Campaign.objects.get(name=DEMO_CAMPAIGN)
    record = campaign.records.select_related("mitigation").first().mitigation.public_id
    pages = {
        "demo-contributor": [
            "/campaigns/",
            campaign.get_absolute_url(),
            f"/campaigns/{campaign.pk}/code/{record}/",
        ],
        "demo-curator": [
            campaign.get_absolute_url(),
            f"/campaigns/{campaign.pk}/edit/",
            f"/campaigns/{campaign.pk}/report/",
            f"/campaigns/{campaign.pk}/adjudication/",
            f"/campaigns/{campaign.pk}/codings/import/",
            "/campaigns/new/",
        ],
    }
    too_wide, violations = {}, []
    for username, urls in pages.items():
        context = browser.new_context(base_url=live_server.url, viewport=PHONE)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.goto("/accounts/login/")
        page.get_by_label("Username or email").fill(username)
        page.get_by_label("Password").fill(f"{username}-pass")
        page.get_by_role("button", name="Sign In").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        for url in urls:
            response = page.goto(url)
            assert response.status == 200, url
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide[url] = width
        context.close()
    assert too_wide == {}
    assert violations == []
