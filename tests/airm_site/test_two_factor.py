"""Two-factor sign-in (django-allauth MFA) for everyone, and required of curators and admins
when REQUIRE_MFA_FOR_STAFF is on. Codes are computed here from the secret the page shows
(RFC 6238), as an authenticator app does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Rate limits are counted in the cache; each test starts with none spent."""
    cache.clear()
    yield
    cache.clear()


def totp(secret: str, *, step: int = 0) -> str:
    """The six-digit code of ``secret`` for the current 30-second step (``step`` later)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int(time.time()) // 30 + step
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def sign_in(client: Client, user, password: str = PASSWORD):
    return client.post(reverse("account_login"), {"login": user.username, "password": password})


def enrol(client: Client, user) -> tuple[str, list[str]]:
    """Sign in, confirm the password again, activate an authenticator app with a code from the
    secret the page shows; the secret and the recovery codes shown after."""
    sign_in(client, user)
    client.post(
        reverse("account_reauthenticate") + "?next=" + reverse("mfa_activate_totp"),
        {"password": PASSWORD},
    )
    page = client.get(reverse("mfa_activate_totp"))
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', page.text)
    if secret is None:
        secret = re.search(r'value="([A-Z2-7]{16,})"[^>]*id="authenticator_secret"', page.text)
    secret = secret.group(1)
    done = client.post(reverse("mfa_activate_totp"), {"code": totp(secret)}, follow=True)
    codes = re.findall(r"\b\d{8}\b", client.get(reverse("mfa_view_recovery_codes")).text)
    assert done.status_code == 200
    return secret, codes


def signed_in_as(client: Client):
    response = client.get(reverse("review:mine"))
    return response.status_code == 200


def test_anyone_can_set_up_an_authenticator_app(contributor):
    client = Client()

    _, codes = enrol(client, contributor)

    assert Authenticator.objects.filter(user=contributor, type="totp").exists()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "Two-factor sign-in" in client.get(reverse("review:settings")).text


def test_a_wrong_code_does_not_activate_the_app(contributor):
    client = Client()
    sign_in(client, contributor)
    client.post(
        reverse("account_reauthenticate") + "?next=" + reverse("mfa_activate_totp"),
        {"password": PASSWORD},
    )
    client.get(reverse("mfa_activate_totp"))

    response = client.post(reverse("mfa_activate_totp"), {"code": "000000"})

    assert response.status_code == 200
    assert "Incorrect code." in response.text
    assert not Authenticator.objects.filter(user=contributor).exists()


def test_sign_in_asks_for_the_code_after_the_password(contributor):
    secret, _ = enrol(Client(), contributor)
    client = Client()

    response = sign_in(client, contributor)

    assert response["Location"] == reverse("mfa_authenticate")
    assert not signed_in_as(client)
    refused = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert "Incorrect code." in refused.text
    assert not signed_in_as(client)
    client.post(reverse("mfa_authenticate"), {"code": totp(secret)})
    assert signed_in_as(client)


def test_a_code_signs_in_once(contributor):
    secret, _ = enrol(Client(), contributor)
    code = totp(secret)
    first, second = Client(), Client()
    sign_in(first, contributor)
    first.post(reverse("mfa_authenticate"), {"code": code})
    sign_in(second, contributor)

    second.post(reverse("mfa_authenticate"), {"code": code})

    assert signed_in_as(first)
    assert not signed_in_as(second)


def test_a_recovery_code_signs_in_once(contributor):
    _, codes = enrol(Client(), contributor)
    client, again = Client(), Client()
    sign_in(client, contributor)
    client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    sign_in(again, contributor)
    again.post(reverse("mfa_authenticate"), {"code": codes[0]})

    assert signed_in_as(client)
    assert not signed_in_as(again)


def test_wrong_codes_are_throttled(contributor):
    secret, _ = enrol(Client(), contributor)
    client = Client()
    sign_in(client, contributor)
    for _ in range(5):
        client.post(reverse("mfa_authenticate"), {"code": "000000"})

    response = client.post(reverse("mfa_authenticate"), {"code": totp(secret)})

    assert "Too many failed login attempts" in response.text
    assert not signed_in_as(client)


def test_failed_sign_ins_are_throttled_per_account(contributor):
    client = Client()
    for _ in range(5):
        sign_in(client, contributor, password="wrong password")

    response = sign_in(client, contributor)

    assert response.status_code == 429 or "Too many failed login attempts" in response.text
    assert not signed_in_as(client)


# --------------------------------------------------------------------------- the requirement


@pytest.fixture
def required(settings):
    settings.REQUIRE_MFA_FOR_STAFF = True


@pytest.mark.usefixtures("required")
def test_a_curator_without_a_second_factor_is_sent_to_set_one_up(client_for, curator):
    client = client_for(curator)

    response = client.get(reverse("review:queue"))

    assert response["Location"] == reverse("mfa_activate_totp")
    following = client.get(reverse("review:queue"), follow=True)
    assert "Curators and admins sign in with a second factor here." in following.text
    assert client.post(reverse("review:propose-new"), {}).status_code == 302


@pytest.mark.usefixtures("required")
def test_an_admin_without_a_second_factor_cannot_use_the_admin(client_for, admin):
    response = client_for(admin).get(reverse("admin:index"))

    assert response["Location"] == reverse("mfa_activate_totp")


@pytest.mark.usefixtures("required")
def test_a_contributor_is_not_asked(client_for, contributor):
    assert client_for(contributor).get(reverse("review:mine")).status_code == 200


@pytest.mark.usefixtures("required")
def test_a_curator_with_an_authenticator_app_goes_on(curator):
    client = Client()
    secret, _ = enrol(client, curator)

    assert client.get(reverse("review:queue")).status_code == 200
    again = Client()
    sign_in(again, curator)
    again.post(reverse("mfa_authenticate"), {"code": totp(secret, step=1)})
    assert again.get(reverse("review:queue")).status_code == 200


@pytest.mark.usefixtures("required")
def test_setting_it_up_and_signing_out_stay_open(client_for, curator):
    client = client_for(curator)

    assert client.get(reverse("mfa_activate_totp")).status_code == 302  # to confirm the password
    assert client.get(reverse("account_reauthenticate")).status_code == 200
    assert client.post(reverse("account_logout")).status_code == 302
    assert not signed_in_as(client)


def test_without_the_setting_curators_are_not_asked(client_for, curator):
    assert client_for(curator).get(reverse("review:queue")).status_code == 200
