"""A phone (390 px wide): no page scrolls sideways, the list puts its results before its
filters, and a filter lands on the results. Also the search boxes as a newcomer uses them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from catalog.models import Mitigation
from review.models import ProposalKind
from tests.review.conftest import new_proposal

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PHONE = {"width": 390, "height": 844}

PUBLIC_PAGES = [
    "/",
    "/mitigations/",
    "/mitigations/?airm-preliminary=3.1&lifecycle=deploy&q=red&sort=name&per_page=10",
    "/mitigations/?source=Uuk2024&lifecycle=deploy",
    "/mitigations/?status=active&status=retired&status=merged&per_page=100",
    "/mitigations/?year_min=abc",
    "/mitigations/A9001/",
    "/mitigations/A9058/",
    "/mitigations/A9059/",
    "/taxonomies/",
    "/taxonomies/airm-preliminary/",
    "/taxonomies/airm-draft/",
    "/taxonomies/lifecycle/",
    "/sources/",
    "/sources/NIST2024/",
    "/sources/Future%20of%20Life%20Institute2024/",
    "/coverage/",
    "/coverage/?by=lifecycle&depth=2",
    "/coverage/?rows=airm-draft&by=actor&depth=3",
    "/taxonomies/airm-preliminary/crosswalk/airm-draft/",
    "/taxonomies/airm-draft/crosswalk/lifecycle/?depth=1",
    "/about/",
    "/no-such-page/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
]

SIGNED_IN_PAGES = [
    "/review/",
    "/review/mine/",
    "/review/propose/",
    "/review/propose/source/",
    "/review/settings/",
    "/review/upload/",
    "/review/mitigations/A9001/edit/",
    "/review/mitigations/A9001/reclassify/",
    "/review/mitigations/A9001/retire/",
    "/review/mitigations/A9001/merge/",
    "/mitigations/A9001/",
]


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_no_page_scrolls_sideways_on_a_phone(browser, live_server, django_user_model):
    # Proposals with long titles and names fill the queue, the proposal pages and the history.
    contributor = django_user_model.objects.get(username="demo-contributor")
    curator = django_user_model.objects.get(username="demo-curator")
    long_name = "A very long mitigation name that keeps going " * 3
    created = new_proposal(
        contributor,
        kind=ProposalKind.NEW,
        changes={
            "name": long_name.strip(),
            "definition": "Averyveryverylongwordwithoutanyspaceinitthatcouldpushthepagewide" * 2,
            "source": Mitigation.objects.get(number=9001).source_id,
            "section_path": "Audits > Pre-deployment > External",
        },
    )
    edit = new_proposal(contributor, kind=ProposalKind.EDIT)
    new_proposal(
        contributor, kind=ProposalKind.RETIRE, mitigation=Mitigation.objects.get(number=9002)
    )
    from review import workflow

    workflow.proposal_approve(proposal=created, actor=curator)
    created.refresh_from_db()
    pages = [*SIGNED_IN_PAGES, f"/review/proposals/{edit.pk}/", f"/review/proposals/{created.pk}/"]

    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    too_wide = {}
    for url in [*PUBLIC_PAGES, created.mitigation.get_absolute_url()]:
        page.goto(url)
        if page_width(page) > PHONE["width"]:
            too_wide[url] = page_width(page)

    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill("demo-curator")
    page.get_by_label("Password").fill("demo-curator-pass")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    for url in pages:
        response = page.goto(url)
        assert response.status == 200, url
        if page_width(page) > PHONE["width"]:
            too_wide[url] = page_width(page)
    context.close()
    assert too_wide == {}


def test_on_a_phone_the_results_come_first_and_a_filter_lands_on_them(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    page.goto("/mitigations/")
    facets = page.get_by_role("complementary", name="Filter")
    expect(facets).to_be_hidden()
    first_result = page.locator(".result").first
    assert first_result.bounding_box()["y"] < 1.5 * PHONE["height"]

    page.get_by_role("link", name="Filters (0)").click()
    expect(facets).to_be_visible()
    facets.get_by_text("AI lifecycle stage", exact=True).click()
    facets.get_by_role("link", name=re.compile(r"^Deploy")).click()

    expect(page).to_have_url(re.compile(r"\?lifecycle=deploy#results$"))
    expect(facets).to_be_hidden()
    heading = page.locator("#results-title")
    expect(heading).to_contain_text("mitigations")
    expect(heading).to_be_in_viewport()
    expect(page.get_by_role("link", name="Filters (1)")).to_be_visible()
    context.close()


def test_on_a_wide_screen_the_filters_stay_beside_the_results(page, live_server):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/mitigations/")
    expect(page.get_by_role("complementary", name="Filter")).to_be_visible()
    expect(page.get_by_role("link", name="Filters (0)")).to_be_hidden()


def test_a_search_from_the_list_is_ranked_by_relevance_with_a_clean_address(page, live_server):
    page.goto(f"{live_server.url}/mitigations/")
    page.get_by_label("Search names, definitions and source sections").fill("adversarial")
    page.get_by_label("Search names, definitions and source sections").press("Enter")
    expect(page).to_have_url(f"{live_server.url}/mitigations/?q=adversarial#results")
    expect(page.get_by_label("Sort by")).to_have_value("")
    expect(page.get_by_label("Sort by").locator("option:checked")).to_have_text("Relevance")
    # The record named for the word ranks above those that only mention it.
    expect(page.locator(".result__title").first).to_contain_text("Adversarial training")

    page.get_by_label("Sort by").select_option("name")
    expect(page).to_have_url(f"{live_server.url}/mitigations/?q=adversarial&sort=name#results")


def test_the_header_and_home_searches_lead_to_the_ranked_list(page, live_server):
    page.goto(f"{live_server.url}/sources/")
    header = page.get_by_role("search", name="Search the catalog")
    header.get_by_label("Search mitigations").fill("a9001")
    header.get_by_role("button", name="Search").click()
    expect(page).to_have_url(f"{live_server.url}/mitigations/?q=a9001")
    expect(page.locator(".result__title")).to_have_count(1)
    expect(page.locator(".result__title")).to_contain_text("A9001")

    page.goto(live_server.url)
    page.get_by_label("Search the mitigations").fill("red teaming")
    page.get_by_label("Search the mitigations").press("Enter")
    expect(page).to_have_url(f"{live_server.url}/mitigations/?q=red+teaming")


def test_a_lower_case_public_id_in_the_address_reaches_the_record(page, live_server):
    page.goto(f"{live_server.url}/mitigations/a9001/")
    expect(page).to_have_url(f"{live_server.url}/mitigations/A9001/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Adversarial training")


def test_the_site_follows_a_dark_colour_scheme(browser, live_server):
    context = browser.new_context(base_url=live_server.url, color_scheme="dark")
    page = context.new_page()
    page.goto("/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    ink = page.evaluate("getComputedStyle(document.body).color")
    context.close()
    light = browser.new_context(base_url=live_server.url, color_scheme="light").new_page()
    light.goto("/")
    assert light.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    light.context.close()
    assert background == "rgb(18, 22, 29)"
    assert ink == "rgb(230, 233, 239)"
