"""Content-Security-Policy (Django's own) without inline script, and Permissions-Policy, on
every kind of page: public, account, review, admin and two-factor pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.models import Mitigation, SourceDocument, Taxonomy
from tests.conftest import PASSWORD
from tests.html_checks import inline_script_problems
from tests.review.conftest import new_proposal

pytestmark = pytest.mark.django_db


def public_pages():
    record = Mitigation.objects.get(number=9001)
    return [
        "/",
        reverse("catalog:mitigation-list"),
        reverse("catalog:mitigation-list") + "?q=audit&airm-preliminary=3",
        record.get_absolute_url(),
        reverse("catalog:taxonomy-list"),
        Taxonomy.objects.get(slug="airm-preliminary").get_absolute_url(),
        reverse("catalog:source-list"),
        SourceDocument.objects.order_by("pk").first().get_absolute_url(),
        reverse("catalog:coverage"),
        reverse("account_login"),
        reverse("account_signup"),
        reverse("account_reset_password"),
    ]


def signed_in_pages(contributor, curator):
    record = Mitigation.objects.get(number=9001)
    proposal = new_proposal(contributor)
    return {
        contributor: [
            reverse("review:mine"),
            reverse("review:propose-new"),
            reverse("review:propose-edit", args=[record.public_id]),
            reverse("review:propose-reclassification", args=[record.public_id])
            + "?taxonomy=airm-preliminary",
            reverse("review:upload"),
            reverse("review:settings"),
            proposal.get_absolute_url(),
            reverse("mfa_index"),
            reverse("account_email"),
            reverse("account_change_password"),
        ],
        curator: [reverse("review:queue"), proposal.get_absolute_url()],
    }


def admin_pages():
    record = Mitigation.objects.get(number=9001)
    return [
        reverse("admin:index"),
        reverse("admin:catalog_mitigation_changelist"),
        reverse("admin:catalog_mitigation_change", args=[record.pk]),
        reverse("admin:catalog_mitigation_add"),
        reverse("admin:catalog_mitigation_history", args=[record.pk]),
        reverse("admin:catalog_taxonomynode_changelist"),
        reverse("admin:catalog_sourcedocument_add"),
        reverse("admin:catalog_importbatch_upload"),
        reverse("admin:catalog_importbatch_changelist"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_add"),
        reverse("admin:auth_group_changelist"),
        reverse("admin:review_proposal_changelist"),
    ]


def check(response, address):
    assert response.status_code == 200, (address, response.status_code)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "camera=()" in response["Permissions-Policy"]
    problems = inline_script_problems(response.content.decode())
    assert problems == [], (address, problems)


def test_public_and_account_pages_have_the_policy_and_no_inline_script(client):
    for address in public_pages():
        check(client.get(address), address)


def test_review_pages_have_the_policy_and_no_inline_script(client_for, contributor, curator):
    for user, addresses in signed_in_pages(contributor, curator).items():
        client = client_for(user)
        for address in addresses:
            check(client.get(address), address)


def test_admin_pages_have_the_policy_and_no_inline_script(client_for, admin):
    client = client_for(admin)
    for address in admin_pages():
        check(client.get(address), address)


def test_two_factor_setup_pages_have_no_inline_script(client, contributor):
    client.post(reverse("account_login"), {"login": contributor.username, "password": PASSWORD})
    reauthenticate = client.get(reverse("mfa_activate_totp"), follow=True)
    check(reauthenticate, "reauthenticate")
    activate = client.post(
        reverse("account_reauthenticate") + "?next=" + reverse("mfa_activate_totp"),
        {"password": PASSWORD},
        follow=True,
    )
    check(activate, "activate")
    assert 'src="data:image/svg+xml;base64,' in activate.text  # the QR code: img-src data:


def test_the_scanner_finds_what_the_policy_would_block():
    page = (
        '<script>alert(1)</script><script src="/s.js"></script>'
        '<script type="application/json">{}</script><a href="javascript:go()">x</a>'
        '<button onclick="go()">y</button><style>p{}</style>'
    )

    assert inline_script_problems(page) == [
        "<script> without src at line 1",
        "<a href=javascript:…>",
        "<button onclick=…> (an inline event handler)",
        "<style> element at line 1",
    ]


def test_error_pages_carry_the_headers_too(client):
    response = client.get("/sources/%00/")

    assert response.status_code == 400
    assert "Content-Security-Policy" in response
    assert "Permissions-Policy" in response


def test_security_keys_are_allowed_only_when_they_are_on(client, settings):
    response = client.get("/")

    assert "publickey-credentials-get=()" in response["Permissions-Policy"]
