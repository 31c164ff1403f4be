"""Development email: what the console prints can be read, and its links clicked."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest
from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend
from django.urls import reverse

from airm_site.mail import ConsoleEmailBackend
from tests.review.conftest import new_proposal

from .test_settings import ROOT, run_manage

pytestmark = pytest.mark.django_db


def printed(message, backend_class=ConsoleEmailBackend) -> str:
    stream = io.StringIO()
    backend_class(stream=stream).send_messages([message])
    return stream.getvalue()


def sign_up(client, username="newcomer-with-a-rather-long-name"):
    client.post(
        reverse("account_signup"),
        {
            "email": f"{username}@example.org",
            "username": username,
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
    )


def test_the_sign_up_link_is_printed_whole_on_one_line(client, mailoutbox):
    sign_up(client)
    (message,) = mailoutbox
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", message.body).group(0)
    assert len(link) > 76  # long enough for quoted-printable to break it
    assert "=\n" in printed(message, DjangoConsoleBackend)  # (what Django's own backend does)

    text = printed(message)
    assert link in text
    assert "=\n" not in text
    assert "Subject: [AIRM Curator]" in text
    assert "To: newcomer-with-a-rather-long-name@example.org" in text
    # The printed link is the one that works.
    printed_link = re.search(r"https?://\S+/accounts/confirm-email/\S+", text).group(0)
    assert client.get(printed_link.removeprefix("http://testserver")).status_code == 200


def test_review_notifications_print_whole_links_and_readable_letters(
    contributor, curator, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = new_proposal(
            contributor, rationale="Gipiškis’ wording is clearer — see section 3.2 of the source."
        )
    message = next(m for m in mailoutbox if m.to == [curator.email])
    text = printed(message)
    assert f"http://127.0.0.1:8000{proposal.get_absolute_url()}" in text
    assert "=\n" not in text and "=C5" not in text


def test_an_html_alternative_is_mentioned_and_the_plain_text_shown():
    from django.core.mail import EmailMultiAlternatives

    message = EmailMultiAlternatives(
        subject="Both", body="Plain: https://example.org/" + "y" * 100, to=["a@example.org"]
    )
    message.attach_alternative("<p>HTML version</p>", "text/html")
    text = printed(message)
    assert "https://example.org/" + "y" * 100 in text
    assert "[text/html alternative: not shown]" in text
    assert "HTML version" not in text
    html_only = EmailMessage(subject="HTML", body="<p>Only HTML</p>", to=["a@example.org"])
    html_only.content_subtype = "html"
    assert "<p>Only HTML</p>" in printed(html_only)


def test_every_part_is_decoded_and_attachments_are_only_named():
    message = EmailMessage(
        subject="Ünïcode subject",
        body="Plain part with a link https://example.org/" + "x" * 120 + "\n",
        to=["someone@example.org"],
    )
    message.attach("report.csv", "a,b\n1,2\n", "text/csv")
    text = printed(message)
    assert "Subject: Ünïcode subject" in text
    assert "https://example.org/" + "x" * 120 in text
    assert "[attachment: report.csv, text/csv]" in text
    assert "a,b" not in text


@pytest.mark.slow
def test_development_uses_the_readable_backend_and_links_follow_the_port():
    script = (
        "from django.conf import settings; "
        "print(settings.MAILERS['default']['BACKEND']); print(settings.SITE_URL)"
    )
    default = run_manage("shell", "--no-imports", "-c", script, env={"DEBUG": "1"})
    assert default.stdout.split() == ["airm_site.mail.ConsoleEmailBackend", "http://127.0.0.1:8000"]
    on_8080 = run_manage("shell", "--no-imports", "-c", script, env={"DEBUG": "1", "PORT": "8080"})
    assert on_8080.stdout.split()[1] == "http://127.0.0.1:8080"
    told = run_manage(
        "shell",
        "--no-imports",
        "-c",
        script,
        env={"DEBUG": "1", "PORT": "8080", "SITE_URL": "https://airm.example.org/"},
    )
    assert told.stdout.split()[1] == "https://airm.example.org"


@pytest.mark.slow
def test_make_run_passes_its_port_to_the_server():
    # `make -n` prints the commands without running them.
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make on this machine")
    result = subprocess.run(
        [make, "-n", "run", "PORT=8080"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    recipe = result.stdout
    assert re.search(r"export DEBUG=\S+ PORT=8080;", recipe), recipe
    assert "runserver 127.0.0.1:8080" in recipe
