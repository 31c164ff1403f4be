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

``--baseline [REF]`` adds "today": the code at ``REF`` (default ``02c1889``, main before the
work of issue 10; unpacked by ``bench/scaling.py``'s ``git archive``) served the same way on a
copy of the same file, its requests interleaved with the others; the table gains its column
and cold ÷ today.

``--postgres URL`` compares the two databases' search: the same rows imported into a
PostgreSQL database (``airm_bench_peer`` on the server ``URL`` names, created and filled once
through ``import_mitigations``, which ends with ``ANALYZE``), served by a second gunicorn, and
the list's search asked of both, cold (the version bumped before each request) and warm,
for several kinds of query (words, a phrase, a negation, a prefix, a public ID). Prints
SQLite ÷ PostgreSQL per query.
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
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "results" / "peer"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
IMPORT_MAX_BYTES = 1 << 30


def _bench_import():
    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def app_env(database: Path | str, **extra) -> dict:
    url = database if isinstance(database, str) else f"sqlite:///{database}"
    return os.environ | {
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STATIC_ROOT": str(WORK / "static"),
        **extra,
    }


def manage(database: Path | str, *args: str, root: Path = ROOT, **extra) -> None:
    subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
        [PYTHON, str(root / "manage.py"), *args],
        env=app_env(database, **extra),
        check=True,
        cwd=root,
    )


def fill(database: Path | str, rows: int, csv_path: Path) -> tuple[float, int]:
    """Reference data, an administrator, then ``rows`` synthetic mitigations (always the same
    ones) through ``import_mitigations``; returns the import's seconds and the file's bytes."""
    manage(database, "load_reference_data")
    subprocess.run(  # noqa: S603
        [
            PYTHON,
            "-c",
            "import django; django.setup(); from django.contrib.auth import get_user_model; "
            "get_user_model().objects.create_superuser('bench-admin', 'b@example.org', 'b')",
        ],
        env=app_env(database, DJANGO_SETTINGS_MODULE="airm_site.settings"),
        check=True,
        cwd=ROOT,
    )
    size = _bench_import().write_rows(csv_path, 1, rows, seed=20261202)
    print(
        f"importing {rows:,} rows ({size / 1e6:.0f} MB) with import_mitigations; "
        f"IMPORT_MAX_BYTES raised to {IMPORT_MAX_BYTES:,} for this import (default 20 MB)",
        flush=True,
    )
    started = time.perf_counter()
    manage(
        database,
        "import_mitigations",
        str(csv_path),
        "--user",
        "bench-admin",
        "--no-progress",
        IMPORT_MAX_BYTES=str(IMPORT_MAX_BYTES),
    )
    seconds = time.perf_counter() - started
    csv_path.unlink()
    return seconds, size


def build(rows: int) -> tuple[Path, Path, dict]:
    WORK.mkdir(parents=True, exist_ok=True)
    airm, peer = WORK / "airm.sqlite3", WORK / "datasette.sqlite3"
    for path in WORK.glob("*.sqlite3*"):
        path.unlink()
    started = time.perf_counter()
    manage(airm, "migrate", "--verbosity", "0")
    manage(airm, "createcachetable")
    manage(airm, "collectstatic", "--noinput", "--verbosity", "0")
    import_seconds, size = fill(airm, rows, WORK / "mitigations.csv")
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


def build_postgres(server_url: str, rows: int) -> str:
    """The same rows in PostgreSQL (``airm_bench_peer``), through the same import; its URL."""
    import psycopg

    parts = urlsplit(server_url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit("--postgres must name a PostgreSQL server (postgres://…)")
    url = urlunsplit(parts._replace(path="/airm_bench_peer"))
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = 'airm_bench_peer'"
        ).fetchone()
        if not exists:
            connection.execute("CREATE DATABASE airm_bench_peer")
    with psycopg.connect(url) as connection:
        try:
            (count,) = connection.execute("SELECT COUNT(*) FROM catalog_mitigation").fetchone()
        except psycopg.errors.UndefinedTable:
            count = 0
    if count >= rows:
        manage(url, "migrate", "--verbosity", "0")
        return url
    if count:
        raise SystemExit("airm_bench_peer holds another data set: drop it to rebuild.")
    manage(url, "migrate", "--verbosity", "0")
    manage(url, "createcachetable")
    seconds, _ = fill(url, rows, WORK / "mitigations-pg.csv")
    print(f"PostgreSQL: {rows:,} rows imported in {seconds:.0f} s")
    return url


def build_baseline(ref: str, airm: Path) -> tuple[Path, Path]:
    """The older code (unpacked once) and its own copy of the catalog file."""
    spec = importlib.util.spec_from_file_location("bench_scaling", ROOT / "bench" / "scaling.py")
    scaling = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scaling)
    tree = scaling.baseline_tree(ref)
    copy = WORK / f"{tree.name}.sqlite3"
    for path in WORK.glob(f"{tree.name}.sqlite3*"):
        path.unlink()
    with sqlite3.connect(airm) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    manage(
        copy,
        "collectstatic",
        "--noinput",
        "--verbosity",
        "0",
        root=tree,
        STATIC_ROOT=str(WORK / f"{tree.name}-static"),
    )
    return tree, copy


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


def gunicorn_for(database: Path | str, port: int, root: Path = ROOT, **extra):
    log = open(WORK / "servers.log", "ab")  # noqa: SIM115 (kept open while the server runs)
    return subprocess.Popen(  # noqa: S603
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "airm_site.wsgi",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=root,
        env=app_env(database, **extra),
        stdout=log,
        stderr=log,
        start_new_session=True,
    )


def serve(airm: Path, peer: Path, airm_port: int, peer_port: int):
    log = open(WORK / "servers.log", "ab")  # noqa: SIM115 (kept open while the servers run)
    gunicorn = gunicorn_for(airm, airm_port)
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


def bump_version(airm: Path | str) -> None:
    """What every write does to the catalog version (catalog/version.py), done directly."""
    if isinstance(airm, str):
        import psycopg

        with psycopg.connect(airm, autocommit=True) as connection:
            connection.execute(
                "UPDATE catalog_catalogversion SET number = number + 1, token = %s, "
                "changed_at = now()",
                (secrets.token_hex(8),),
            )
        return
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


def measure(airm: Path, targets, runs: int, today_base: str | None = None) -> list[dict]:
    """Interleaved: AIRM warm, Datasette, (the older code), AIRM cold, Datasette, …"""
    results = []
    for name, airm_url, peer_url in targets:
        today_url = airm_url.replace(airm_url.split("/")[2], today_base) if today_base else None
        fetch(airm_url), fetch(peer_url)  # first answers (imports, connections, caches)
        if today_url:
            fetch(today_url)
        warm_airm, cold_airm, peer, today = [], [], [], []
        for _ in range(runs):
            warm_airm.append(fetch(airm_url))
            peer.append(fetch(peer_url))
            if today_url:
                today.append(fetch(today_url))
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
        line = (
            f"| {name} | {row['airm_warm_ms']:.1f} | {row['airm_cold_ms']:.1f} "
            f"| {row['datasette_ms']:.1f} | {row['warm_ratio']:.2f}× | {row['cold_ratio']:.2f}× |"
        )
        if today:
            row["today_ms"] = statistics.median(today)
            row["cold_vs_today"] = row["airm_cold_ms"] / row["today_ms"]
            line += f" {row['today_ms']:.1f} | {row['cold_vs_today']:.2f}× |"
        results.append(row)
        print(line, flush=True)
    return results


SEARCHES = [
    ("words", "red team"),
    ("phrase", '"independent review board"'),
    ("negation", "oversight -watermark"),
    ("prefix of the last word", "provenan"),
    ("public ID", "A54321"),
]


def measure_search(sqlite_db: Path, sqlite_base: str, pg_url: str, pg_base: str, runs: int):
    """The list's search on both databases, cold and warm, interleaved request by request."""
    from urllib.parse import quote_plus

    results = []
    print("| query | SQLite cold (ms) | PostgreSQL cold (ms) | SQLite ÷ PostgreSQL | warm ÷ |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, query in SEARCHES:
        path = f"/mitigations/?q={quote_plus(query)}"
        fetch(sqlite_base + path), fetch(pg_base + path)
        cold = {"sqlite": [], "postgresql": []}
        warm = {"sqlite": [], "postgresql": []}
        for _ in range(runs):
            for engine, base, database in (
                ("sqlite", sqlite_base, sqlite_db),
                ("postgresql", pg_base, pg_url),
            ):
                bump_version(database)
                cold[engine].append(fetch(base + path))
                warm[engine].append(fetch(base + path))
        row = {"kind": kind, "query": query}
        for engine in cold:
            row[f"{engine}_cold_ms"] = statistics.median(cold[engine])
            row[f"{engine}_warm_ms"] = statistics.median(warm[engine])
        row["cold_ratio"] = row["sqlite_cold_ms"] / row["postgresql_cold_ms"]
        row["warm_ratio"] = row["sqlite_warm_ms"] / row["postgresql_warm_ms"]
        results.append(row)
        print(
            f"| {kind}: `{query}` | {row['sqlite_cold_ms']:.1f} | {row['postgresql_cold_ms']:.1f} "
            f"| {row['cold_ratio']:.2f}× | {row['warm_ratio']:.2f}× |",
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
    parser.add_argument(
        "--baseline",
        nargs="?",
        const="02c1889",
        help="also serve the code at this commit (default 02c1889, before issue 10)",
    )
    parser.add_argument("--baseline-port", type=int, default=8503)
    parser.add_argument("--postgres", metavar="URL", help="compare search with PostgreSQL")
    parser.add_argument("--postgres-port", type=int, default=8504)
    parser.add_argument("--search-only", action="store_true", help="only the search comparison")
    args = parser.parse_args()

    airm, peer = WORK / "airm.sqlite3", WORK / "datasette.sqlite3"
    if args.rebuild or not (airm.exists() and peer.exists() and (WORK / "built.json").exists()):
        airm, peer, built = build(args.rows)
    else:
        built = json.loads((WORK / "built.json").read_text())
    print(f"catalog: {built}", flush=True)
    # The app's own migrations (a newer checkout may add indexes); no data changes.
    manage(airm, "migrate", "--verbosity", "0")
    pg_url = build_postgres(args.postgres, built["rows"]) if args.postgres else None
    baseline = build_baseline(args.baseline, airm) if args.baseline else None
    before = machine()
    gunicorn, datasette = serve(airm, peer, args.airm_port, args.datasette_port)
    servers = [gunicorn, datasette]
    airm_base = f"http://127.0.0.1:{args.airm_port}"
    peer_base = f"http://127.0.0.1:{args.datasette_port}"
    today_host = f"127.0.0.1:{args.baseline_port}"
    pg_base = f"http://127.0.0.1:{args.postgres_port}"
    results, searches = [], []
    try:
        if baseline:
            tree, copy = baseline
            servers.append(
                gunicorn_for(
                    copy, args.baseline_port, tree, STATIC_ROOT=str(WORK / f"{tree.name}-static")
                )
            )
            wait_for(f"http://{today_host}/about/", servers[-1])
        if pg_url:
            manage(pg_url, "collectstatic", "--noinput", "--verbosity", "0")
            servers.append(gunicorn_for(pg_url, args.postgres_port))
            wait_for(f"{pg_base}/about/", servers[-1])
        wait_for(f"{airm_base}/about/", gunicorn)
        wait_for(f"{peer_base}/datasette", datasette)
        if not args.search_only:
            header = "| page | AIRM warm (ms) | AIRM cold (ms) | Datasette (ms) | warm ÷ | cold ÷ |"
            rule = "| --- | ---: | ---: | ---: | ---: | ---: |"
            if baseline:
                header += (
                    f" today ({baseline[0].name.removeprefix('baseline-')}, ms) | cold ÷ today |"
                )
                rule += " ---: | ---: |"
            print(header)
            print(rule)
            targets = pages(airm, airm_base, peer_base)
            results = measure(airm, targets, args.runs, today_host if baseline else None)
        if pg_url:
            searches = measure_search(airm, airm_base, pg_url, pg_base, args.runs)
    finally:
        for server in servers:
            stop(server)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "catalog": built,
        "runs": args.runs,
        "machine_before": before,
        "machine_after": machine(),
        "pages": results,
        "search_sqlite_vs_postgresql": searches,
    }
    print(f"load average before {before['load_average']}, after {report['machine_after']}")
    out = ROOT / "bench" / "results" / "peer_datasette.json"
    out.write_text(json.dumps(report, indent=2))
    shutil.copy(out, WORK / "last.json")


if __name__ == "__main__":
    main()
