"""The pages work under the Content-Security-Policy: the admin's own scripts (filters, calendar
shortcuts, actions) and ours run, and the browser reports no violation."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def violations(page):
    """What the browser refused because of the policy (Chromium logs each refusal)."""
    seen = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def test_the_admin_works_under_the_policy(page, live_server, signed_in, violations):
    curator = get_user_model().objects.get(username="demo-curator")
    signed_in("demo-admin", "demo-admin-pass")

    response = page.goto(f"{live_server.url}/admin/auth/user/{curator.pk}/change/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#id_groups_filter")).to_be_visible()  # SelectFilter2, built by script
    expect(page.locator(".datetimeshortcuts").first).to_be_visible()  # calendar shortcuts

    page.goto(f"{live_server.url}/admin/catalog/mitigation/")
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("selected")  # actions.js

    assert violations == []


def test_the_public_list_and_the_proposal_form_work_under_the_policy(
    page, live_server, person, violations
):
    page.goto(f"{live_server.url}/mitigations/")
    with page.expect_navigation():
        page.get_by_label("Sort by").select_option("name")  # list.js submits at once
    assert "sort=name" in page.url

    author = person("demo-contributor")
    author.goto("/review/propose/")
    author.get_by_label("Name").fill("Adversarial trainings")
    expect(author.locator("#similar-mitigations")).to_contain_text("A9001")  # similar.js

    assert violations == []


def test_an_inline_script_is_refused_by_the_browser(page, live_server, violations):
    page.goto(f"{live_server.url}/")

    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = true'; document.body.appendChild(s); }"
    )

    assert page.evaluate("() => window.injected === undefined")
    expect(page.locator("body")).to_be_visible()
    assert any("inline script" in text and "blocked" in text for text in violations), violations
