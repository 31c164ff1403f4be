"""Production serving: ``make serve`` (migrate, collectstatic, gunicorn, DEBUG off), WhiteNoise's
hashed and compressed static files, ``/healthz``, and the shared cache's table."""

from __future__ import annotations

import re
import subprocess

import pytest
from django.core.cache import cache
from django.db import connection

from tests.servers import (
    GUNICORN,
    ROOT,
    database_url,
    environment,
    free_port,
    get,
    json_of,
    running,
    wait_for,
)

pytestmark = pytest.mark.slow

# The TLS proxy in front of the app server says the request came in over HTTPS.
PROXY = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}


def _database(tmp_path) -> str:
    """PostgreSQL: the test database itself; SQLite (in memory for the suite): a new file,
    which ``make serve`` migrates."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    return database_url(connection.settings_dict)


def _make_serve(port: int, env: dict[str, str]) -> list[str]:
    # -o: take the installed virtualenv as it is (the suite runs after `make install`).
    return ["make", "--no-print-directory", "-o", ".venv/.installed", "serve", f"PORT={port}"]


def test_make_serve_refuses_to_start_without_a_secret_key(tmp_path):
    env = environment(database=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    del env["SECRET_KEY"]
    result = subprocess.run(
        _make_serve(free_port(), env), cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "make serve needs SECRET_KEY" in result.stderr
    assert not (tmp_path / "x.sqlite3").exists()  # it stopped before migrating


@pytest.mark.django_db(transaction=True)
def test_make_serve_runs_gunicorn_with_hashed_compressed_static_files_and_a_health_check(
    tmp_path,
):
    port = free_port()
    env = environment(
        database=_database(tmp_path),
        STATIC_ROOT=str(tmp_path / "static"),
        SECURE_PROXY_SSL_HEADER="1",
        WEB_CONCURRENCY="2",
    )
    base = f"http://127.0.0.1:{port}"
    with running(_make_serve(port, env), env=env, log=tmp_path / "serve.log") as server:
        status, _, body = wait_for(f"{base}/healthz", server)
        assert status == 200
        assert json_of(body) == {"status": "ok", "database": "ok"}

        status, _, page = get(f"{base}/", headers=PROXY)
        assert status == 200, page[:2000]
        stylesheet = re.search(rb'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
        assert stylesheet, "the page links the stylesheet by its hashed name"

        status, headers, css = get(base + stylesheet[1].decode(), headers=PROXY)
        assert status == 200
        assert headers["Content-Type"].startswith("text/css")
        assert "immutable" in headers["Cache-Control"]
        assert b"body" in css
        status, headers, packed = get(
            base + stylesheet[1].decode(), headers={**PROXY, "Accept-Encoding": "gzip"}
        )
        assert status == 200
        assert headers["Content-Encoding"] == "gzip"
        assert len(packed) < len(css)

        # DEBUG is off: a missing page is the site's plain 404, not Django's debug page.
        status, _, missing = get(f"{base}/no-such-page/", headers=PROXY)
        assert status == 404
        assert b"URLconf" not in missing
        # Without the proxy's header, a page redirects to HTTPS; the health check does not.
        assert get(f"{base}/", headers={"Host": "127.0.0.1"})[0] == 301
        assert get(f"{base}/healthz", headers={"Host": "127.0.0.1"})[0] == 200
        server.stop()
        log = server.output()
    assert "Booting worker" in log  # gunicorn's own log, on standard output too
    assert len(set(re.findall(r"Booting worker with pid: (\d+)", log))) == 2
    assert '"GET /healthz HTTP/1.1" 200' in log  # the access log


def test_healthz_answers_503_when_the_database_does_not(tmp_path):
    if connection.vendor == "sqlite":
        unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite3'}"
    else:
        unreachable = "postgres://root@127.0.0.1:1/airm_ops_nowhere"
    port = free_port()
    env = environment(database=unreachable, PORT=str(port), WEB_CONCURRENCY="1")
    with running(GUNICORN, env=env, log=tmp_path / "gunicorn.log") as server:
        status, headers, body = wait_for(f"http://127.0.0.1:{port}/healthz", server)
    assert status == 503
    assert headers["Content-Type"] == "application/json"
    assert json_of(body) == {"status": "error", "database": "unavailable"}


def test_healthz_answers_200_with_one_query(client, django_assert_num_queries, db):
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert client.post("/healthz").status_code == 405


def test_the_database_cache_is_shared_through_its_table(db):
    # The table exists because migrate made it (a post_migrate step), as on every server.
    cache.set("ops-shared", 42)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM airm_cache")
        assert cursor.fetchone()[0] >= 1
    assert cache.get("ops-shared") == 42
