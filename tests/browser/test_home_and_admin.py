"""A visitor reads the home page; an admin corrects a record and finds the change in its history."""

import re

import pytest
from playwright.sync_api import expect

from catalog.models import Mitigation

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_a_visitor_sees_the_taxonomies_with_their_counts(page, live_server):
    page.goto(live_server.url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("AI risk mitigations")
    section = page.get_by_role("region", name="AI Risk Mitigation Taxonomy (preliminary)")
    expect(section).to_contain_text("Technical & Security Controls")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_an_admin_edit_is_recorded_with_its_reason(page, live_server, signed_in):
    mitigation = Mitigation.objects.get(name="Robustness certificates")
    signed_in("demo-admin", "demo-admin-pass")
    page.goto(f"{live_server.url}/admin/catalog/mitigation/{mitigation.pk}/change/")
    page.get_by_label("Section in source").fill("Model evaluations > Robustness")
    page.get_by_label("Reason for this change").fill("Section path was too coarse")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.goto(f"{live_server.url}/admin/catalog/mitigation/{mitigation.pk}/history/")
    latest = page.locator("#change-history tbody tr").first
    expect(latest).to_contain_text("Section path was too coarse")
    expect(latest).to_contain_text("demo-admin")
    expect(latest).to_contain_text(re.compile(r"section in source|section_path", re.I))
