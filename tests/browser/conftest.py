"""Playwright on the system Chromium (Debian's ``chromium``), against a live test server.

Playwright cannot download its own browsers here, so the suite launches the system binary:
``CHROMIUM`` names it, else the first of ``chromium`` / ``chromium-browser`` on the PATH.
Without a browser the browser tests are skipped, unless ``AIRM_REQUIRE_BROWSER=1`` (set by CI),
in which case they fail.
"""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import expect

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# where it sees one unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


def pytest_collection_modifyitems(config, items):
    if chromium_path():
        return
    if os.environ.get("AIRM_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError("AIRM_REQUIRE_BROWSER=1 but no chromium binary was found.")
    skip = pytest.mark.skip(reason="no system chromium (apt-get install -y chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "headless": True,
        "args": LAUNCH_ARGS,
    }


@pytest.fixture
def signed_in(page, live_server):
    """``signed_in(username, password)``: sign ``page`` in through the admin login form."""

    def sign_in(username: str, password: str):
        page.goto(f"{live_server.url}/admin/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/admin/")
        return page

    return sign_in


@pytest.fixture
def person(browser, live_server):
    """``person(username)``: a page in its own browser context, signed in as that demo account."""
    contexts = []

    def sign_in(username: str):
        context = browser.new_context(base_url=live_server.url)
        contexts.append(context)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.get_by_label("Username or email").fill(username)
        page.get_by_label("Password").fill(f"{username}-pass")
        page.get_by_role("button", name="Sign In").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        return page

    yield sign_in
    for context in contexts:
        context.close()
