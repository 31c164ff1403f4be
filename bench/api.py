"""Benchmark of the read API against the HTML pages it mirrors, on PostgreSQL with 100,000
synthetic mitigations.

    DATABASE_URL=postgres://root@127.0.0.1:5432/airm .venv/bin/python bench/api.py

``DATABASE_URL`` names the PostgreSQL *server*; the benchmark works in its own database,
``airm_bench_api`` (``--database`` changes the name), created, migrated and filled on first
use with the same fixture as ``bench/browse.py`` (reference data through the loader, 100,000
mitigations and their classifications by ``COPY``; 97% active, 2% retired, 1% merged), and
reused afterwards (``--rebuild`` starts afresh).

Measurement: for each pair, the HTML page and the API answer for the same filters are
requested through Django's test client (``DEBUG`` off, the full middleware stack, a persistent
connection), two warm-ups each, then ``--runs`` times *alternately* (page, API, page, API …),
so that load from elsewhere on the machine falls on both alike. It prints the medians and
95th percentiles, the queries each ran, and the ratio API / page, which the issue bounds at
1.5. API throttling is off (a benchmark is one client asking fast).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import browse as fixture  # noqa: E402 - the shared 100,000-record fixture and helpers

LIMIT = 1.5


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="airm_bench_api", help="benchmark database name")
    parser.add_argument("--rebuild", action="store_true", help="drop and refill the database")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per side")
    parser.add_argument("--total", type=int, default=fixture.TOTAL, help="synthetic mitigations")
    parser.add_argument(
        "--json",
        type=Path,
        default=HERE / "results" / "api.json",
        help="also write the figures here (default: bench/results/api.json, not committed)",
    )
    return parser.parse_args()


def fetch(client, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(url)
    content = response.content  # the whole body, as a client would read it
    elapsed = time.perf_counter() - started
    assert content is not None
    return elapsed, response.status_code


def count_queries(client, url: str) -> int:
    from django.db import connection

    statements = []

    def capture(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        client.get(url)
    return len(statements)


def compare(client, page_url: str, api_url: str, runs: int) -> dict:
    """Both sides, alternately, ``runs`` times each after two warm-ups."""
    for _ in range(2):
        fetch(client, page_url)
        fetch(client, api_url)
    page, api, statuses = [], [], set()
    for _ in range(runs):
        elapsed, status = fetch(client, page_url)
        page.append(elapsed)
        statuses.add(("page", status))
        elapsed, status = fetch(client, api_url)
        api.append(elapsed)
        statuses.add(("api", status))
    page_summary, api_summary = fixture.summary(page), fixture.summary(api)
    return {
        "page_url": page_url,
        "api_url": api_url,
        "statuses": sorted(statuses),
        "page": {**page_summary, "queries": count_queries(client, page_url)},
        "api": {**api_summary, "queries": count_queries(client, api_url)},
        "ratio": round(statistics.median(api) / statistics.median(page), 2),
    }


def time_alone(client, url: str, runs: int, headers: dict | None = None) -> dict:
    for _ in range(2):
        client.get(url, headers=headers or {})
    samples, status = [], None
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, headers=headers or {})
        _ = response.content
        samples.append(time.perf_counter() - started)
        status = response.status_code
    return {"url": url, "status": status, **fixture.summary(samples)}


def main():
    args = parse_args()
    url = fixture.bench_url(os.environ.get("DATABASE_URL", ""), args.database)
    created = fixture.ensure_database(url, rebuild=args.rebuild)
    os.environ["API_THROTTLE_ANON"] = ""
    os.environ["API_THROTTLE_USER"] = ""
    fixture.configure(url)

    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings

    from catalog.api.pagination import NEXT, encode_cursor
    from catalog.models import Mitigation

    fixture.migrate_and_fill(args.database, args.total, created=created)
    detail_url = fixture.prepare_detail(args.total // 2)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    # Pages name their static files; the hashed names need collectstatic's manifest, which a
    # benchmark does not measure: plain names, as in the test suite.
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain}).enable()
    client = Client()
    public_id = detail_url.rstrip("/").rsplit("/", 1)[1]
    deep = encode_cursor("id", NEXT, [int(args.total * 0.9)])
    pairs = [
        ("List, no filter", "/mitigations/", "/api/v1/mitigations/"),
        (
            "List, 3 filters (category 3, lifecycle Deploy, year ≥ 2024)",
            "/mitigations/?airm-preliminary=3&lifecycle=deploy&year_min=2024",
            "/api/v1/mitigations/?airm-preliminary=3&lifecycle=deploy&year_min=2024",
        ),
        (
            "List, 3 filters (source, document type, status)",
            "/mitigations/?source=UK+Government2023&doc_type=government&status=active",
            "/api/v1/mitigations/?source=UK+Government2023&doc_type=government&status=active",
        ),
        ("Search “red team”", "/mitigations/?q=red+team", "/api/v1/mitigations/?q=red+team"),
        (
            "List sorted by name, 100 per page",
            "/mitigations/?sort=name&per_page=100",
            "/api/v1/mitigations/?sort=name&per_page=100",
        ),
        (
            "Deep page (record 90,000 onwards; HTML: page 3,492)",
            f"/mitigations/?page={int(args.total * 0.9 * 0.97) // 25}",
            f"/api/v1/mitigations/?cursor={deep}",
        ),
        ("Mitigation (record page / detail)", detail_url, f"/api/v1/mitigations/{public_id}/"),
    ]

    total = Mitigation.objects.count()
    print(f"{total:,} mitigations; {args.runs} timed runs per side, alternating\n", flush=True)
    load_before = " ".join(f"{value:.2f}" for value in os.getloadavg())
    results = []
    for label, page_url, api_url in pairs:
        row = {"label": label, **compare(client, page_url, api_url, args.runs)}
        results.append(row)
        print(f"  measured {label}: {row['ratio']}×", flush=True)

    etag = client.get("/api/v1/mitigations/")["ETag"]
    extra = {
        "history": time_alone(client, f"/api/v1/mitigations/{public_id}/history/", args.runs),
        "not_modified": time_alone(
            client, "/api/v1/mitigations/", args.runs, headers={"if-none-match": etag}
        ),
        "coverage": time_alone(client, "/api/v1/coverage/", args.runs),
    }

    load_after = " ".join(f"{value:.2f}" for value in os.getloadavg())
    note = fixture.machine_note()
    print(
        f"\nMachine: {note}; load average (1, 5, 15 min) {load_before} before, {load_after} after\n"
    )
    print(
        "| what | page median / p95 (ms) | page queries | API median / p95 (ms) "
        "| API queries | API / page |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in results:
        page, api = row["page"], row["api"]
        print(
            f"| {row['label']} | {page['median_ms']} / {page['p95_ms']} | {page['queries']} "
            f"| {api['median_ms']} / {api['p95_ms']} | {api['queries']} | {row['ratio']}× |"
        )
    print(
        f"\nAPI history of the record: {extra['history']['median_ms']} ms median; "
        f"a revalidation answered 304: {extra['not_modified']['median_ms']} ms median "
        f"(status {extra['not_modified']['status']}); coverage matrix: "
        f"{extra['coverage']['median_ms']} ms median."
    )
    over = [row["label"] for row in results if row["ratio"] > LIMIT]
    bad = [row["label"] for row in results if any(s != 200 for _, s in row["statuses"])]
    if bad:
        print(f"\nWARNING: not every answer was 200: {', '.join(bad)}")
    if over:
        print(f"\nOVER {LIMIT}×: {', '.join(over)}")
    else:
        print(f"\nEvery API answer is within {LIMIT}× of its page.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": note,
                    "loadavg": [load_before, load_after],
                    "total": total,
                    "runs": args.runs,
                    "pairs": results,
                    **extra,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
