"""Benchmark of the public pages on PostgreSQL with 100,000 synthetic mitigations.

    DATABASE_URL=postgres://root@127.0.0.1:5432/airm .venv/bin/python bench/browse.py

``DATABASE_URL`` names the PostgreSQL *server*; the benchmark always works in its own database
on it, ``airm_bench_browse`` (``--database`` changes the name), which it creates, migrates and
fills on first use and reuses afterwards (``--rebuild`` starts it afresh). It never touches the
database named in ``DATABASE_URL``.

Filling: the reference data (taxonomies, vocabularies, 13 sources) goes through the normal
loader; the 100,000 mitigations and their classifications are a benchmark fixture written with
PostgreSQL ``COPY`` straight into the tables, with the database's own triggers (search vector,
invariants) running on every row. They carry no history rows (only the record measured on the
detail page is edited through the services, so its page has a history to show). 97% are
active, 2% retired, 1% merged.

The pages are measured in the state the app leaves after an import: the fill ends with
``catalog.maintenance.analyze``, as an import does (statistics refreshed and, on PostgreSQL,
the tables vacuumed; no other vacuum). Public pages are asked as an anonymous reader, so after
the first request they come from the page cache (catalog/page_cache.py); ``bench/scaling.py``
measures them cold too.

Measurement: each page is requested through Django's test client (``DEBUG`` off, the full
middleware stack and templates) ``--runs`` times after two warm-up requests; beside it the
*bare SQL* of that page, i.e. the exact statements the page ran, captured and replayed on a raw
cursor with every row fetched, timed the same way; and, where the admin can express the same
filter, the Django admin changelist. It prints a Markdown table: median and p95 in
milliseconds and the ratio page / bare SQL.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOTAL = 100_000
SEED = 20251129
REFUSED_NAMES = {"airm", "test", "root", "postgres", "template0", "template1"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="airm_bench_browse", help="benchmark database name")
    parser.add_argument("--rebuild", action="store_true", help="drop and refill the database")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument("--total", type=int, default=TOTAL, help="synthetic mitigations")
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "bench" / "results" / "browse.json",
        help="also write the figures here (default: bench/results/browse.json, not committed)",
    )
    return parser.parse_args()


def bench_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("DATABASE_URL must point at a PostgreSQL server (postgres://…).")
    if name in REFUSED_NAMES or name.startswith("test"):
        sys.exit(f"Refusing to use {name!r} as the benchmark database.")
    return urlunsplit(parts._replace(path=f"/{name}"))


def ensure_database(url: str, *, rebuild: bool) -> bool:
    """Create the benchmark database if needed; return whether it was (re)created."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if exists and rebuild:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
            return True
    return False


def configure(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-" + "x" * 40)
    os.environ["ALLOWED_HOSTS"] = "testserver"
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        os.environ[name] = "0"
    os.environ["SECURE_HSTS_SECONDS"] = "0"
    # Persistent connections, as a production deployment would run: each request then pays
    # for its queries, not for a new PostgreSQL connection.
    os.environ.setdefault("CONN_MAX_AGE", "600")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airm_site.settings")
    import django

    django.setup()


# --------------------------------------------------------------------------- the fixture

ACTIONS = [
    "Red teaming",
    "Adversarial testing",
    "Incident reporting",
    "Access control",
    "Watermarking",
    "Risk assessment",
    "Third-party audits",
    "Staged release",
    "Usage monitoring",
    "Data filtering",
    "Capability evaluation",
    "Model card publication",
    "Whistleblower channels",
    "Board oversight",
    "Weight encryption",
    "Rollback drills",
    "Content labelling",
    "Bug bounties",
    "Know-your-customer checks",
    "Unlearning",
]
OBJECTS = [
    "of deployed models",
    "for frontier systems",
    "before release",
    "of training data",
    "for API access",
    "of model weights",
    "across the supply chain",
    "for generative outputs",
    "with external experts",
    "under regulatory review",
    "during fine-tuning",
    "for high-risk uses",
]
WORDS = [
    "model",
    "system",
    "developer",
    "deployer",
    "risk",
    "safety",
    "evaluation",
    "release",
    "access",
    "data",
    "training",
    "weights",
    "security",
    "incident",
    "report",
    "audit",
    "oversight",
    "monitor",
    "policy",
    "threshold",
    "capability",
    "harm",
    "misuse",
    "user",
    "public",
    "government",
    "regulator",
    "standard",
    "benchmark",
    "control",
    "filter",
    "output",
    "input",
    "provenance",
    "documentation",
    "disclosure",
    "review",
    "board",
    "committee",
    "assessment",
    "response",
    "recovery",
    "shutdown",
    "rollback",
    "containment",
    "isolation",
    "encryption",
    "threat",
    "vulnerability",
    "bounty",
    "feedback",
    "channel",
    "stakeholder",
    "impact",
    "environment",
    "energy",
    "compute",
    "infrastructure",
    "staged",
    "tier",
    "customer",
    "identity",
    "verification",
    "license",
    "agreement",
    "contract",
    "supplier",
    "vendor",
    "partner",
]


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return " ".join(words).capitalize() + "."


def migrate_and_fill(name: str, total: int, *, created: bool) -> None:
    """Migrate the configured benchmark database ``name`` and, if it holds no mitigations yet,
    fill it with ``total`` (:func:`fill`); one holding another data set stops the run."""
    from django.core.management import call_command

    from catalog.models import Mitigation

    print(f"Benchmark database: {name}{' (new)' if created else ''}", flush=True)
    call_command("migrate", verbosity=0)
    if Mitigation.objects.count() < total:
        if Mitigation.objects.exists():
            sys.exit("The benchmark database holds another data set; run with --rebuild.")
        print(f"Filling with {total:,} synthetic mitigations…", flush=True)
        fill(total)


def fill(total: int) -> None:
    """Reference data through the loader, then ``total`` mitigations through COPY."""
    from django.db import connection

    from catalog.models import Mitigation, SourceDocument, Taxonomy, TaxonomyNode
    from catalog.reference_data import load_reference_data

    load_reference_data(with_demo=False)
    if Mitigation.objects.exists():
        return
    rng = random.Random(SEED)
    sources = list(SourceDocument.objects.order_by("pk"))
    sections = {
        source.pk: [
            f"Part {p} > Section {p}.{s}" if s else f"Part {p}"
            for p in range(1, 6)
            for s in range(0, 5)
        ]
        for source in sources
    }
    now = datetime.now(UTC)
    started = time.perf_counter()
    buffer = io.StringIO()
    for number in range(1, total + 1):
        source = rng.choice(sources)
        name = f"{rng.choice(ACTIONS)} {rng.choice(OBJECTS)} ({number})"
        definition = " ".join(_sentence(rng, 8, 20) for _ in range(rng.randint(1, 3)))
        stamp = now.isoformat()
        section = rng.choice(sections[source.pk])
        buffer.write(
            "\t".join([str(number), name, definition, str(source.pk), section, "active", ""])
            + f"\t\\N\t{stamp}\t{stamp}\n"
        )
    buffer.seek(0)
    columns = (
        "number, name, definition, source_id, section_path, status, status_note,"
        " merged_into_id, created_at, updated_at"
    )
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY catalog_mitigation ({columns}) FROM STDIN") as copy,
    ):
        copy.write(buffer.getvalue())
    print(f"  {total:,} mitigations copied in {time.perf_counter() - started:.1f} s", flush=True)

    ids = dict(Mitigation.objects.values_list("number", "id"))
    taxonomies = {t.slug: t for t in Taxonomy.objects.all()}
    nodes: dict[str, list[TaxonomyNode]] = {}
    for node in TaxonomyNode.objects.order_by("path"):
        nodes.setdefault(node.taxonomy_id, []).append(node)
    shares = {"airm-preliminary": 1.0, "airm-draft": 0.6, "lifecycle": 0.7, "actor": 0.7}
    shares["rmf-function"] = 0.5
    parents = {node.parent_id for group in nodes.values() for node in group}
    leaves = {pk: [n for n in group if n.pk not in parents] for pk, group in nodes.items()}
    stamp = now.isoformat()
    started = time.perf_counter()
    buffer = io.StringIO()
    rows = 0
    for mitigation_id in ids.values():
        for slug, share in shares.items():
            taxonomy = taxonomies.get(slug)
            if taxonomy is None or rng.random() >= share:
                continue
            # Most records sit at a leaf; a tenth of the taxonomy placements at an inner node.
            pool = leaves if rng.random() < 0.9 else nodes
            node = rng.choice(pool[taxonomy.pk])
            buffer.write(f"{mitigation_id}\t{taxonomy.pk}\t{node.pk}\t\t{stamp}\t{stamp}\n")
            rows += 1
    buffer.seek(0)
    with connection.cursor() as cursor:
        # The row trigger re-checks "node in its taxonomy, one node per single-valued
        # taxonomy" with a lookup per row; the generator guarantees both, so the fixture
        # switches it off for the bulk copy and checks the result once afterwards.
        cursor.execute(
            "ALTER TABLE catalog_classification DISABLE TRIGGER catalog_classification_check"
        )
        with cursor.copy(
            "COPY catalog_classification (mitigation_id, taxonomy_id, node_id, reasoning,"
            " created_at, updated_at) FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
        cursor.execute(
            "ALTER TABLE catalog_classification ENABLE TRIGGER catalog_classification_check"
        )
        cursor.execute(
            "SELECT count(*) FROM catalog_classification c"
            " JOIN catalog_taxonomynode n ON n.id = c.node_id"
            " WHERE n.taxonomy_id <> c.taxonomy_id"
        )
        assert cursor.fetchone()[0] == 0, "a generated node is outside its taxonomy"
        # 2% retired, 1% merged into the next record (which stays active).
        cursor.execute(
            "UPDATE catalog_mitigation SET status = 'retired', status_note = 'Benchmark'"
            " WHERE number %% 50 = 0",
            [],
        )
        cursor.execute(
            "UPDATE catalog_mitigation m SET status = 'merged', status_note = 'Benchmark',"
            " merged_into_id = t.id FROM catalog_mitigation t"
            " WHERE m.number %% 100 = 1 AND t.number = m.number + 1",
            [],
        )
    # What an import through the app leaves behind: the write's last step bumps the catalog
    # version, which folds the copied rows into the tallies (catalog.tallies), then the import
    # runs catalog.maintenance.analyze: statistics refreshed and, on PostgreSQL, the tables
    # vacuumed; nothing more.
    from django.db import transaction

    from catalog import version
    from catalog.maintenance import analyze

    folded = time.perf_counter()
    with transaction.atomic():
        version.bump()
    print(f"  tallies folded in {time.perf_counter() - folded:.1f} s", flush=True)
    analyze()
    print(f"  {rows:,} classifications copied in {time.perf_counter() - started:.1f} s", flush=True)


def prepare_detail(number: int) -> str:
    """Give the measured record a history (through the services) and return its address."""
    from catalog import services
    from catalog.models import Mitigation, Taxonomy, TaxonomyNode

    mitigation = Mitigation.objects.get(number=number)
    if not Mitigation.history.filter(id=mitigation.pk).exists():
        services.mitigation_update(
            mitigation=mitigation,
            data={"name": mitigation.name + " (reviewed)"},
            actor=None,
            reason="Benchmark: an edit to show in the history",
        )
        mit = Taxonomy.objects.get(slug="airm-preliminary")
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=mit,
            placements=[
                services.Placement(node=TaxonomyNode.objects.get(taxonomy=mit, code="3.1"))
            ],
            actor=None,
            reason="Benchmark: a reclassification to show in the history",
        )
    return mitigation.get_absolute_url()


# --------------------------------------------------------------------------- measuring


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summary(samples: list[float]) -> dict:
    return {
        "median_ms": round(statistics.median(samples) * 1000, 1),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 1),
    }


def time_page(client, url: str, runs: int) -> tuple[list[float], list[tuple[str, tuple]], int]:
    """Timings of ``url``, the statements it ran, and its status code."""
    from django.db import connection

    statements: list[tuple[str, tuple]] = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    for _ in range(2):
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    with connection.execute_wrapper(capture):
        response = client.get(url)
    status = response.status_code
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
        samples.append(time.perf_counter() - started)
    return samples, statements, status


def time_sql(statements: list[tuple[str, tuple]], runs: int) -> list[float]:
    from django.db import connection

    samples = []
    for _ in range(runs + 2):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                if cursor.description is not None:
                    cursor.fetchall()
        samples.append(time.perf_counter() - started)
    return samples[2:]


def time_download(client, url: str, runs: int) -> dict:
    """Stream a whole export, counting bytes and rows without keeping them."""
    import resource

    def peak_kib() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    before = peak_kib()
    samples, size, rows = [], 0, 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        size = rows = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            rows += chunk.count(b"\n")
        samples.append(time.perf_counter() - started)
    return {
        "url": url,
        "runs": runs,
        "rows": rows - 1,  # lines less the header (synthetic cells hold no line breaks)
        "megabytes": round(size / 1e6, 1),
        "peak_growth_mb": round((peak_kib() - before) / 1024, 1),
        **summary(samples),
    }


def machine_note() -> str:
    from django.db import connection

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return (
        f"{cpu}, {os.cpu_count()} CPUs{memory}; PostgreSQL {server} on the same machine; "
        f"Python {platform.python_version()}, Django {__import__('django').get_version()}"
    )


def main():
    args = parse_args()
    server = os.environ.get("DATABASE_URL", "")
    url = bench_url(server, args.database)
    created = ensure_database(url, rebuild=args.rebuild)
    configure(url)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from catalog.models import Mitigation, SourceDocument

    print(f"Benchmark database: {args.database}{' (new)' if created else ''}", flush=True)
    call_command("migrate", verbosity=0)
    if Mitigation.objects.count() < args.total:
        if Mitigation.objects.exists():
            sys.exit("The benchmark database holds another data set; run with --rebuild.")
        print(f"Filling with {args.total:,} synthetic mitigations…", flush=True)
        fill(args.total)
    detail_url = prepare_detail(args.total // 2)
    # Measured in the state the app leaves: as the last import or revert left the tables (see
    # catalog.maintenance), nothing vacuumed here (autovacuum may be off, as on this machine).

    admin_user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    nist = SourceDocument.objects.get(short_ref="NIST2024")
    public = Client()
    admin = Client()
    admin.force_login(admin_user)

    three_filters = "/mitigations/?airm-preliminary=3&lifecycle=deploy&year_min=2024"
    pages = [
        (
            "List, 3 filters (category 3, lifecycle Deploy, year ≥ 2024)",
            public,
            three_filters,
            None,
        ),
        (
            "List, 3 filters (source, document type, status)",
            public,
            "/mitigations/?source=NIST2024&doc_type=government&status=active",
            (
                f"/admin/catalog/mitigation/?source__id__exact={nist.pk}"
                "&source__doc_type__exact=government&status__exact=active"
            ),
        ),
        (
            "Search “red team”",
            public,
            "/mitigations/?q=red+team",
            "/admin/catalog/mitigation/?q=red+team",
        ),
        ("Mitigation page", public, detail_url, None),
        ("Coverage (categories × sources)", public, "/coverage/", None),
        ("Coverage (subcategories × lifecycle)", public, "/coverage/?by=lifecycle&depth=2", None),
        (
            "List, no filter, 100 per page",
            public,
            "/mitigations/?per_page=100",
            "/admin/catalog/mitigation/?status__exact=active",
        ),
    ]

    total = Mitigation.objects.count()
    active = Mitigation.objects.active().count()
    print(
        f"{total:,} mitigations ({active:,} active); {args.runs} timed runs per page\n", flush=True
    )
    results = []
    for label, client, page_url, admin_url in pages:
        samples, statements, status = time_page(client, page_url, args.runs)
        sql = time_sql(statements, args.runs)
        row = {
            "page": label,
            "url": page_url,
            "status": status,
            "queries": len(statements),
            "page_times": summary(samples),
            "sql_times": summary(sql),
        }
        row["ratio"] = round(row["page_times"]["median_ms"] / row["sql_times"]["median_ms"], 2)
        if admin_url:
            admin_samples, admin_statements, admin_status = time_page(admin, admin_url, args.runs)
            row["admin"] = {
                "url": admin_url,
                "status": admin_status,
                "queries": len(admin_statements),
                **summary(admin_samples),
            }
        results.append(row)
        print(f"  measured {label}", flush=True)

    download = time_download(public, "/mitigations/download.csv?status=active", runs=3)
    note = machine_note()
    print(f"\nMachine: {note}\n")
    print(
        "| page | queries | page median (ms) | page p95 (ms) | bare SQL median (ms) "
        "| bare SQL p95 (ms) | page / SQL | admin changelist median / p95 (ms) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in results:
        admin_cell = (
            f"{row['admin']['median_ms']} / {row['admin']['p95_ms']}" if "admin" in row else "n/a"
        )
        print(
            f"| {row['page']} | {row['queries']} | {row['page_times']['median_ms']} "
            f"| {row['page_times']['p95_ms']} | {row['sql_times']['median_ms']} "
            f"| {row['sql_times']['p95_ms']} | {row['ratio']}× | {admin_cell} |"
        )
    print(
        f"\nDownload of the whole active list as CSV ({download['rows']:,} rows,"
        f" {download['megabytes']} MB): median {download['median_ms'] / 1000:.1f} s over"
        f" {download['runs']} runs; the process's peak memory grew by"
        f" {download['peak_growth_mb']} MB."
    )
    bad = [row["page"] for row in results if row["status"] != 200]
    if bad:
        print(f"\nWARNING: pages did not answer 200: {', '.join(bad)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": note,
                    "total": total,
                    "runs": args.runs,
                    "results": results,
                    "download": download,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
