"""Stateless app servers: two real gunicorn servers, each with its own temporary folders,
against one database. A preview made on the first is confirmed on the second (the upload,
the session and the CSRF cookie live in shared places), a worker elsewhere applies it, and
django-allauth's login rate limit counts failed attempts across both (the shared cache)."""

from __future__ import annotations

import re
import time

import pytest
import requests
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from catalog.models import ImportBatch, Job, Mitigation, StoredUpload
from tests.servers import (
    GUNICORN,
    collect_static,
    database_url,
    environment,
    start_listening,
    wait_for,
)
from tests.spreadsheets import MIT_MITIGATION_HEADER

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _server(tmp_path, name: str, static_root):
    """A gunicorn app server with temporary folders of its own: ``(process, base URL, folder)``."""
    own = tmp_path / name
    (own / "tmp").mkdir(parents=True)
    env = environment(
        database=database_url(connection.settings_dict),
        WEB_CONCURRENCY="1",
        UPLOADS_STORAGE="database",
        IMPORT_UPLOAD_DIR=str(own / "uploads"),  # unused with the database storage: stays empty
        TMPDIR=str(own / "tmp"),
        FILE_UPLOAD_TEMP_DIR=str(own / "tmp"),
        # Plain HTTP on the loopback interface (no TLS proxy in this test).
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        STATIC_ROOT=str(static_root),  # build output (collectstatic), not state
    )
    process, port = start_listening(lambda port: GUNICORN, env=env, log=tmp_path / f"{name}.log")
    return process, f"http://127.0.0.1:{port}", own


def _token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=60)
    assert page.status_code == 200, page.text[:2000]
    return CSRF.search(page.text)[1]


def test_a_preview_made_on_one_server_is_confirmed_on_another(
    tmp_path, django_user_model, worker, settings
):
    admin = django_user_model.objects.create_superuser("ada-two", "ada@example.org", None)
    # Hashed as the servers hash (the suite itself uses a fast hasher they do not know).
    hasher = PBKDF2PasswordHasher()
    admin.password = hasher.encode(PASSWORD, hasher.salt())
    admin.save(update_fields=["password"])
    EmailAddress.objects.create(user=admin, email=admin.email, verified=True, primary=True)
    static = tmp_path / "static"
    collect_static(static, environment(database=database_url(connection.settings_dict)))
    server_a, a, own_a = _server(tmp_path, "server-a", static)
    server_b, b, own_b = _server(tmp_path, "server-b", static)
    try:
        wait_for(f"{a}/healthz", server_a)
        wait_for(f"{b}/healthz", server_b)
        # Behind a load balancer both servers see the site's one host name.
        browser = requests.Session()
        browser.headers["Host"] = "localhost"

        # Sign in and preview on A.
        login = f"{a}/admin/login/?next=/admin/"
        signed_in = browser.post(
            login,
            {
                "username": "ada-two",
                "password": PASSWORD,
                "csrfmiddlewaretoken": _token(browser, login),
            },
            headers={"Referer": login},
            timeout=60,
        )
        assert signed_in.url == f"{a}/admin/", signed_in.text[:2000]
        upload = f"{a}/admin/catalog/importbatch/upload/"
        rows = [MIT_MITIGATION_HEADER, ["A7500", "Shared idea", "", "NIST2024", "3.1"]]
        sheet = "\n".join(",".join(row) for row in rows).encode()
        preview = browser.post(
            upload,
            data={"kind": "mitigations", "csrfmiddlewaretoken": _token(browser, upload)},
            files={"file": ("shared.csv", sheet, "text/csv")},
            headers={"Referer": upload},
            timeout=120,
        )
        batch = ImportBatch.objects.get()
        assert preview.url.endswith(f"/admin/catalog/importbatch/{batch.pk}/change/")
        assert batch.status == ImportBatch.Status.PREVIEWED, batch.problems
        assert StoredUpload.objects.filter(name=batch.stored_file).exists()

        # Confirm on B, with the session and CSRF cookie made on A.
        page = f"{b}/admin/catalog/importbatch/{batch.pk}/change/"
        confirmed = browser.post(
            f"{b}/admin/catalog/importbatch/{batch.pk}/confirm/",
            {"csrfmiddlewaretoken": _token(browser, page)},
            headers={"Referer": page},
            timeout=60,
        )
        job = Job.objects.get()
        assert confirmed.url == f"{b}{job.get_absolute_url()}"
        process = worker(UPLOADS_STORAGE="database", TMPDIR=str(tmp_path))
        deadline = time.monotonic() + 600
        while not Job.objects.get(pk=job.pk).finished and time.monotonic() < deadline:
            time.sleep(0.3)
        job.refresh_from_db()
        assert job.status == Job.Status.DONE, job.error + process.output()[-3000:]
        report = browser.get(f"{a}{job.get_absolute_url()}", timeout=60)
        assert "Applied: 1 new, 0 changed, 0 unchanged" in report.text
        assert Mitigation.objects.get(number=7500).name == "Shared idea"
        assert not StoredUpload.objects.exists()  # deleted once applied
        for own in (own_a, own_b):
            assert not (own / "uploads").exists() or not any((own / "uploads").iterdir())

        # Failed sign-ins count across both servers: 5 allowed per account, then refused.
        anonymous = requests.Session()
        anonymous.headers["Host"] = "localhost"
        answers = []
        for attempt in range(6):
            base = a if attempt % 2 == 0 else b
            url = f"{base}/accounts/login/"
            answer = anonymous.post(
                url,
                {
                    "login": "ada-two",
                    "password": "wrong",
                    "csrfmiddlewaretoken": _token(anonymous, url),
                },
                headers={"Referer": url},
                timeout=60,
            )
            answers.append((answer.status_code, "Too many failed login attempts" in answer.text))
        assert answers == [(200, False)] * 5 + [(200, True)], (answers, answer.text[:3000])
    finally:
        server_a.stop()
        server_b.stop()
