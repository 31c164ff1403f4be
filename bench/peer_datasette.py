#!/usr/bin/env python
"""Benchmark: AIRM's public pages beside Datasette's on the same 100,000-record SQLite file.

    .venv/bin/python bench/peer_datasette.py                # build once, then measure
    .venv/bin/python bench/peer_datasette.py --rebuild      # build the catalog afresh

Building (once, kept in ``bench/results/peer/``, not committed): a new SQLite catalog is
migrated, given the reference data, and filled with ``--rows`` synthetic mitigations (about
1 KB each, the rows of ``bench/import.py``) through ``manage.py import_mitigations``, the path
an administrator uses; the import runs ``ANALYZE`` as it ends. The file is 100 MB, over the
20 MB ``IMPORT_MAX_BYTES`` default, so the import's child process gets ``IMPORT_MAX_BYTES``
raised to 1 GB (printed, not silent). Nothing is vacuumed: the measurement sees the state the
app leaves. The file is then copied (SQLite's backup API) and the copy given what Datasette
needs for search: its own FTS5 table on name and definition, as ``sqlite-utils enable-fts``
makes it.

Serving: AIRM under gunicorn (one sync worker, ``DEBUG`` off, the default database cache
in the same SQLite file) and Datasette (``--setting suggest_facets off``, 25 rows a page), each
a real HTTP server on 127.0.0.1 (ports 8501 and 8502 unless told). A single client asks
both, one request at a time, alternating AIRM and Datasette request by request, for:

- faceted list: AIRM ``/mitigations/`` (every facet group: taxonomies, sources, document type,
  year, status) / Datasette the table faceted by source and status;
- filtered list: source + status;
- search ``red team``: AIRM ranked by relevance / Datasette ``_search`` (FTS, rank order);
- record page: AIRM with its context (classifications, "also in", siblings, history) /
  Datasette's row page.

Warm: the same address again (AIRM answers from its cache). Cold (AIRM): the catalog version is
bumped before each request, as any write does, so nothing cached is used; Datasette keeps no
cache, so its figures are the same requests again. Prints medians and each page's ratio
AIRM ÷ Datasette, and writes them to ``bench/results/peer_datasette.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "results" / "peer"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
IMPORT_MAX_BYTES = 1 << 30


def _bench_import():
    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def app_env(database: Path, **extra) -> dict:
    return os.environ | {
        "DATABASE_URL": f"sqlite:///{database}",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STATIC_ROOT": str(WORK / "static"),
        **extra,
    }


def manage(database: Path, *args: str, **extra) -> None:
    subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
        [PYTHON, str(ROOT / "manage.py"), *args], env=app_env(database, **extra), check=True
    )


def build(rows: int) -> tuple[Path, Path, dict]:
    WORK.mkdir(parents=True, exist_ok=True)
    airm, peer = WORK / "airm.sqlite3", WORK / "datasette.sqlite3"
    for path in WORK.glob("*.sqlite3*"):
        path.unlink()
    started = time.perf_counter()
    manage(airm, "migrate", "--verbosity", "0")
    manage(airm, "createcachetable")
    manage(airm, "collectstatic", "--noinput", "--verbosity", "0")
    manage(airm, "load_reference_data")
    subprocess.run(  # noqa: S603
        [
            PYTHON,
            "-c",
            "import django; django.setup(); from django.contrib.auth import get_user_model; "
            "get_user_model().objects.create_superuser('bench-admin', 'b@example.org', 'b')",
        ],
        env=app_env(airm, DJANGO_SETTINGS_MODULE="airm_site.settings"),
        check=True,
        cwd=ROOT,
    )
    csv_path = WORK / "mitigations.csv"
    size = _bench_import().write_rows(csv_path, 1, rows, seed=20261202)
    print(
        f"importing {rows:,} rows ({size / 1e6:.0f} MB) with import_mitigations; "
        f"IMPORT_MAX_BYTES raised to {IMPORT_MAX_BYTES:,} for this import (default 20 MB)",
        flush=True,
    )
    import_started = time.perf_counter()
    manage(
        airm,
        "import_mitigations",
        str(csv_path),
        "--user",
        "bench-admin",
        "--no-progress",
        IMPORT_MAX_BYTES=str(IMPORT_MAX_BYTES),
    )
    import_seconds = time.perf_counter() - import_started
    csv_path.unlink()
    with sqlite3.connect(airm) as source, sqlite3.connect(peer) as target:
        source.backup(target)
    with sqlite3.connect(peer) as connection:
        # What ``sqlite-utils enable-fts catalog_mitigation name definition`` creates.
        connection.executescript(
            """
            DROP TRIGGER IF EXISTS catalog_mitigation_fts_insert;
            DROP TRIGGER IF EXISTS catalog_mitigation_fts_update;
            DROP TRIGGER IF EXISTS catalog_mitigation_fts_delete;
            DROP TABLE IF EXISTS catalog_mitigation_fts;
            CREATE VIRTUAL TABLE [catalog_mitigation_fts] USING FTS5 (
                [name], [definition], content=[catalog_mitigation]);
            INSERT INTO [catalog_mitigation_fts] (rowid, [name], [definition])
                SELECT rowid, [name], [definition] FROM [catalog_mitigation];
            """
        )
    built = {
        "rows": rows,
        "csv_mb": round(size / 1e6, 1),
        "import_seconds": round(import_seconds, 1),
        "build_seconds": round(time.perf_counter() - started, 1),
    }
    (WORK / "built.json").write_text(json.dumps(built))
    return airm, peer, built


# --------------------------------------------------------------------------- serving


def wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server for {url} stopped (exit {process.returncode})")
        try:
            urllib.request.urlopen(url, timeout=5).read()  # noqa: S310 (local server)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {seconds} s")


def serve(airm: Path, peer: Path, airm_port: int, peer_port: int):
    logs = WORK / "servers.log"
    log = open(logs, "ab")  # noqa: SIM115 (kept open while the servers run)
    gunicorn = subprocess.Popen(  # noqa: S603
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "airm_site.wsgi",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{airm_port}",
        ],
        cwd=ROOT,
        env=app_env(airm),
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    datasette = subprocess.Popen(  # noqa: S603
        [
            str(ROOT / ".venv" / "bin" / "datasette"),
            "serve",
            str(peer),
            "--host",
            "127.0.0.1",
            "--port",
            str(peer_port),
            "--setting",
            "suggest_facets",
            "off",
            "--setting",
            "default_page_size",
            "25",
        ],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    return gunicorn, datasette


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


# --------------------------------------------------------------------------- measuring


def fetch(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 (local server)
        body = response.read()
        if response.status != 200 or not body:
            raise SystemExit(f"{url} answered {response.status}")
    return (time.perf_counter() - started) * 1000


def bump_version(airm: Path) -> None:
    """What every write does to the catalog version (catalog/version.py), done directly."""
    with sqlite3.connect(airm, timeout=30) as connection:
        connection.execute(
            "UPDATE catalog_catalogversion SET number = number + 1, token = ?, "
            "changed_at = strftime('%Y-%m-%d %H:%M:%f', 'now')",
            (secrets.token_hex(8),),
        )


def pages(airm: Path, airm_base: str, peer_base: str) -> list[tuple[str, str, str]]:
    with sqlite3.connect(airm) as connection:
        source_id, short_ref = connection.execute(
            "SELECT id, short_ref FROM catalog_sourcedocument WHERE short_ref = 'NIST2024'"
        ).fetchone()
        (number,) = connection.execute(
            "SELECT number FROM catalog_mitigation WHERE status = 'active' "
            "ORDER BY number LIMIT 1 OFFSET 50000"
        ).fetchone()
        (row_id,) = connection.execute(
            "SELECT id FROM catalog_mitigation WHERE number = ?", (number,)
        ).fetchone()
    table = f"{peer_base}/datasette/catalog_mitigation"
    return [
        (
            "faceted list",
            f"{airm_base}/mitigations/",
            f"{table}?_facet=source_id&_facet=status&_size=25",
        ),
        (
            "filtered list (source + status)",
            f"{airm_base}/mitigations/?source={short_ref}&status=active",
            f"{table}?source_id={source_id}&status=active&_size=25",
        ),
        (
            'search "red team"',
            f"{airm_base}/mitigations/?q=red+team",
            f"{table}?_search=red+team&_size=25",
        ),
        ("record page", f"{airm_base}/mitigations/A{number:04d}/", f"{table}/{row_id}"),
    ]


def measure(airm: Path, targets, runs: int) -> list[dict]:
    results = []
    for name, airm_url, peer_url in targets:
        fetch(airm_url), fetch(peer_url)  # first answers (imports, connections, caches)
        warm_airm, cold_airm, peer = [], [], []
        for _ in range(runs):
            warm_airm.append(fetch(airm_url))
            peer.append(fetch(peer_url))
            bump_version(airm)
            cold_airm.append(fetch(airm_url))
            peer.append(fetch(peer_url))
        row = {
            "page": name,
            "airm_warm_ms": statistics.median(warm_airm),
            "airm_cold_ms": statistics.median(cold_airm),
            "datasette_ms": statistics.median(peer),
        }
        row["warm_ratio"] = row["airm_warm_ms"] / row["datasette_ms"]
        row["cold_ratio"] = row["airm_cold_ms"] / row["datasette_ms"]
        results.append(row)
        print(
            f"| {name} | {row['airm_warm_ms']:.1f} | {row['airm_cold_ms']:.1f} "
            f"| {row['datasette_ms']:.1f} | {row['warm_ratio']:.2f}× | {row['cold_ratio']:.2f}× |",
            flush=True,
        )
    return results


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page and kind")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--airm-port", type=int, default=8501)
    parser.add_argument("--datasette-port", type=int, default=8502)
    args = parser.parse_args()

    airm, peer = WORK / "airm.sqlite3", WORK / "datasette.sqlite3"
    if args.rebuild or not (airm.exists() and peer.exists() and (WORK / "built.json").exists()):
        airm, peer, built = build(args.rows)
    else:
        built = json.loads((WORK / "built.json").read_text())
    print(f"catalog: {built}", flush=True)
    before = machine()
    gunicorn, datasette = serve(airm, peer, args.airm_port, args.datasette_port)
    airm_base = f"http://127.0.0.1:{args.airm_port}"
    peer_base = f"http://127.0.0.1:{args.datasette_port}"
    try:
        wait_for(f"{airm_base}/about/", gunicorn)
        wait_for(f"{peer_base}/datasette", datasette)
        print("| page | AIRM warm (ms) | AIRM cold (ms) | Datasette (ms) | warm ÷ | cold ÷ |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        results = measure(airm, pages(airm, airm_base, peer_base), args.runs)
    finally:
        stop(gunicorn)
        stop(datasette)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "catalog": built,
        "runs": args.runs,
        "machine_before": before,
        "machine_after": machine(),
        "pages": results,
    }
    print(f"load average before {before['load_average']}, after {report['machine_after']}")
    out = ROOT / "bench" / "results" / "peer_datasette.json"
    out.write_text(json.dumps(report, indent=2))
    shutil.copy(out, WORK / "last.json")


if __name__ == "__main__":
    main()
