#!/usr/bin/env python
"""Benchmark: importing 100,000 synthetic mitigations (about 1 KB each) into PostgreSQL.

    DATABASE_URL=postgres://root@127.0.0.1:5432/airm_bench_import .venv/bin/python bench/import.py

The database named in DATABASE_URL is dropped and created again: never point it at one you
want to keep. In one run the script times, each step in its own process (so that its peak
memory is its own):

1. the command line, ``import_mitigations FILE --user …``, on 100,000 new rows, history
   included (one history row per mitigation and per classification);
2. the same file imported again (every row unchanged: the cost of planning alone);
3. PostgreSQL ``COPY`` of the same file into a bare table (text columns, no index, no
   trigger): the floor any importer is compared with;
4. the command line and the admin (upload with dry-run preview, then confirm) on 10,000
   new rows each, the admin through Django's test client against the same database;
5. django-import-export with its default settings (``MitigationResource.import_data``, row
   by row, saving through the services) on a subset, extrapolated to 100,000 rows; and, for
   reference, a plain ModelResource that saves with ``Model.save()`` as the library does by
   default (the catalog never writes that way: no services, no classification).

It prints rows per second, the ratio to COPY and peak memory (maximum resident set size),
and writes the figures to bench/results/import-<time>.json.

The 100,000-row file (about 100 MB) is larger than the app's default ``IMPORT_MAX_BYTES``
(20 MB): every step runs with the limit raised to 1 GB, and the run prints that it did. An
administrator importing such a file sets ``IMPORT_MAX_BYTES`` the same way.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
SOURCES = [
    "Bengio2025",
    "Schuett2023",
    "Uuk2024",
    "Wiener2024",
    "Casper2025",
    "Eisenberg2025",
    "EU AI Office2025",
    "Gipiškis2024",
    "UK Government2023",
    "NIST2024",
    "Campos2025",
    "Barrett2024",
]
CODES = [f"1.{n}" for n in range(1, 8)] + [f"2.{n}" for n in range(1, 5)]
CODES += [f"3.{n}" for n in range(1, 7)] + [f"4.{n}" for n in range(1, 7)] + ["X.X"]
WORDS = [
    *[
        "developers",
        "deployers",
        "should",
        "must",
        "evaluate",
        "monitor",
        "restrict",
        "document",
        "report",
        "model",
    ],
    *[
        "system",
        "weights",
        "access",
        "training",
        "data",
        "release",
        "incident",
        "risk",
        "capability",
        "threshold",
    ],
    *[
        "audit",
        "external",
        "red",
        "team",
        "safeguards",
        "misuse",
        "harmful",
        "content",
        "provenance",
        "watermark",
    ],
    *[
        "oversight",
        "board",
        "policy",
        "governance",
        "security",
        "infrastructure",
        "staged",
        "rollout",
        "users",
    ],
    *["disclosure", "independent", "review"],
]
HEADER = ["ID", "Name", "Definition", "Source", "Section", "airm-preliminary"]


def django_setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airm_site.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


# --------------------------------------------------------------------------- data


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def write_rows(path: Path, first_number: int, count: int, seed: int) -> int:
    """``count`` rows in the catalog's layout, about 1 KB each; returns the file's size."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for number in range(first_number, first_number + count):
            definition = ". ".join(sentence(rng, 14) for _ in range(11)) + "."
            writer.writerow(
                [
                    f"A{number:04d}",
                    sentence(rng, 8),
                    definition[:880],
                    rng.choice(SOURCES),
                    f"Part {rng.randint(1, 9)} > {sentence(rng, 2)}",
                    rng.choice(CODES),
                ]
            )
    return path.stat().st_size


# --------------------------------------------------------------------------- steps (children)


def step_cli(path: str) -> dict:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("import_mitigations", path, "--user", "bench-admin", "--no-progress")
    return {"seconds": time.perf_counter() - started}


def step_admin(path: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from catalog.models import ImportBatch

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-admin"))
    data = Path(path).read_bytes()
    started = time.perf_counter()
    response = client.post(
        reverse("admin:catalog_importbatch_upload"),
        {"kind": "mitigations", "file": SimpleUploadedFile(Path(path).name, data)},
    )
    batch = ImportBatch.objects.latest("pk")
    page = client.get(response["Location"], {"show": "new", "page": 3})
    previewed = time.perf_counter()
    assert batch.status == "previewed", (batch.status, batch.problems, batch.summary)
    assert page.status_code == 200
    client.post(reverse("admin:catalog_importbatch_confirm", args=[batch.pk]))
    # The confirmed import is a background job: the worker, as `manage.py db_worker --batch`
    # runs it, applies it (the figure is the confirm request plus that job).
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    confirmed = time.perf_counter()
    batch.refresh_from_db()
    assert batch.status == "applied", batch.note
    return {"preview": previewed - started, "confirm": confirmed - previewed}


def step_die(path: str) -> dict:
    import tablib
    from django.contrib.auth import get_user_model

    from catalog.resources import MitigationResource

    with open(path, encoding="utf-8-sig") as handle:
        dataset = tablib.Dataset().load(handle.read(), format="csv")
    resource = MitigationResource(
        actor=get_user_model().objects.get(username="bench-admin"), reason="Benchmark"
    )
    started = time.perf_counter()
    result = resource.import_data(dataset, raise_errors=True)
    seconds = time.perf_counter() - started
    assert result.totals["new"] == len(dataset), result.totals
    return {"seconds": seconds}


def step_die_plain(path: str) -> dict:
    """django-import-export's own default path, for reference: a plain ModelResource that
    saves with ``Model.save()`` (no classification, no validation through the services).
    The catalog never writes this way; this is measured in the benchmark's throwaway
    database only, to compare with the library's usual speed."""
    import tablib

    from catalog.history import change_context
    from catalog.resources import MitigationResource

    class PlainResource(MitigationResource):
        """The catalog's resource with django-import-export's own save (``Model.save()``)."""

        def before_save_instance(self, instance, row, **kwargs):
            pass

        def do_instance_save(self, instance, is_create):
            instance.save()

    with open(path, encoding="utf-8-sig") as handle:
        dataset = tablib.Dataset().load(handle.read(), format="csv")
    started = time.perf_counter()
    # The history tables need a reason on every row; the change context gives it.
    with change_context(actor=None, reason="Benchmark", ref="bench"):
        result = PlainResource().import_data(dataset, raise_errors=True)
    seconds = time.perf_counter() - started
    assert result.totals["new"] == len(dataset), result.totals
    return {"seconds": seconds}


def step_copy(path: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute(
            "CREATE TABLE bench_copy (public_id text, name text, definition text, source text, "
            "section text, code text)"
        )
    times = []
    for _ in range(3):  # the median of three: the first read of the file may be cold
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE bench_copy")
        started = time.perf_counter()
        with connection.cursor() as cursor, open(path, "rb") as handle:
            raw = cursor.cursor
            with raw.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                while block := handle.read(1 << 20):
                    copy.write(block)
        times.append(time.perf_counter() - started)
    seconds = sorted(times)[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_copy")
        (rows,) = cursor.fetchone()
        cursor.execute("DROP TABLE bench_copy")
    return {"seconds": seconds, "rows": rows, "runs": times}


def step_floor(path: str, *, without_search: bool = False) -> dict:
    """The database's own work to store the same rows in the catalog's schema: one
    INSERT … SELECT per table (triggers, indexes, the history rows), then rolled back.
    ``without_search``: the same with the full-text search vector's trigger and GIN index
    set aside (inside the rolled-back transaction), to show what they cost."""
    from django.db import connection, transaction

    class Rollback(Exception):
        pass

    seconds = 0.0
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bench_rows (n bigserial, public_id text, name text, "
                "definition text, source text, section text, code text) ON COMMIT DROP"
            )
            with (
                open(path, "rb") as handle,
                cursor.cursor.copy(
                    "COPY bench_rows (public_id, name, definition, source, section, code) "
                    "FROM STDIN WITH (FORMAT csv, HEADER true)"
                ) as copy,
            ):
                while block := handle.read(1 << 20):
                    copy.write(block)
            if without_search:
                cursor.execute(
                    "ALTER TABLE catalog_mitigation DISABLE TRIGGER catalog_mitigation_check"
                )
                cursor.execute("DROP INDEX catalog_mit_search_gin")
            started = time.perf_counter()
            cursor.execute(FLOOR_MITIGATIONS)
            cursor.execute(FLOOR_CLASSIFICATIONS)
            seconds = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return {"seconds": seconds}


FLOOR_MITIGATIONS = """
WITH m AS (
    INSERT INTO catalog_mitigation (number, name, definition, source_id, section_path, status,
                                    status_note, created_at, updated_at)
    SELECT 2000000 + r.n, r.name, r.definition, s.id, r.section, 'active', '', now(), now()
    FROM bench_rows r JOIN catalog_sourcedocument s ON s.short_ref = r.source
    RETURNING *)
INSERT INTO catalog_historicalmitigation (id, number, name, definition, source_id, section_path,
    status, status_note, merged_into_id, created_at, updated_at, history_date, history_type,
    history_change_reason, history_ref, history_user_id)
SELECT id, number, name, definition, source_id, section_path, status, status_note,
    merged_into_id, created_at, updated_at, now(), '+', 'floor', 'floor', NULL FROM m
"""

FLOOR_CLASSIFICATIONS = """
WITH c AS (
    INSERT INTO catalog_classification (mitigation_id, taxonomy_id, node_id, reasoning,
                                        created_at, updated_at)
    SELECT m.id, n.taxonomy_id, n.id, '', now(), now()
    FROM bench_rows r
    JOIN catalog_mitigation m ON m.number = 2000000 + r.n
    JOIN catalog_taxonomy t ON t.slug = 'airm-preliminary'
    JOIN catalog_taxonomynode n ON n.taxonomy_id = t.id AND n.code = r.code
    RETURNING *)
INSERT INTO catalog_historicalclassification (id, mitigation_id, taxonomy_id, node_id, reasoning,
    created_at, updated_at, history_date, history_type, history_change_reason, history_ref,
    history_user_id)
SELECT id, mitigation_id, taxonomy_id, node_id, reasoning, created_at, updated_at, now(), '+',
    'floor', 'floor', NULL FROM c
"""


STEPS = {
    "cli": step_cli,
    "admin": step_admin,
    "die": step_die,
    "die_plain": step_die_plain,
    "copy": step_copy,
    "floor": step_floor,
    "floor_without_search": lambda path: step_floor(path, without_search=True),
}


# The 100,000-row file is about 100 MB, over the 20 MB IMPORT_MAX_BYTES default: each step's
# process gets the limit raised to this, and the run says so (it is not the app's default).
BENCH_IMPORT_MAX_BYTES = 1 << 30


def run_step(name: str, path: Path) -> dict:
    """Run one step in a child process; add its wall time and peak memory.

    The child runs with ``IMPORT_MAX_BYTES`` raised to :data:`BENCH_IMPORT_MAX_BYTES`."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603  (this script, its own arguments)
        [sys.executable, __file__, "--step", name, str(path)],
        stdout=subprocess.PIPE,
        env=os.environ
        | {"IMPORT_MAX_BYTES": str(BENCH_IMPORT_MAX_BYTES), "ALLOWED_HOSTS": "testserver"},
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"step {name} failed with exit status {process.returncode}")
    result = json.loads(output.decode().strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


# --------------------------------------------------------------------------- the run


def reset_database() -> None:
    import psycopg
    from django.conf import settings
    from psycopg import sql

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("Point DATABASE_URL at a PostgreSQL database (it will be re-created).")
    name = database["NAME"]
    if name in {"airm", "test", "root", "postgres"}:
        raise SystemExit(f"Refusing to drop the database {name!r}; use a benchmark database.")
    params = {
        k: v
        for k, v in {
            "host": database["HOST"],
            "port": database["PORT"],
            "user": database["USER"],
            "password": database["PASSWORD"],
        }.items()
        if v
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare() -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("load_reference_data", "--with-demo", stdout=quiet)
    get_user_model().objects.create_superuser("bench-admin", "bench@example.org", "bench")


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:>9,.0f} rows/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small-rows", type=int, default=10_000, help="CLI vs admin comparison")
    parser.add_argument("--die-rows", type=int, default=2_000, help="django-import-export subset")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("file", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    django_setup()
    if args.step:
        print(json.dumps(STEPS[args.step](args.file)))
        return

    from django.db import connection

    reset_database()
    connection.close()
    prepare()
    work = RESULTS / "data"
    work.mkdir(parents=True, exist_ok=True)
    big, small_cli, small_admin, die, die_plain = (
        work / "bench-100k.csv",
        work / "bench-cli-small.csv",
        work / "bench-admin-small.csv",
        work / "bench-die.csv",
        work / "bench-die-plain.csv",
    )
    size = write_rows(big, 100_001, args.rows, seed=1)
    print(
        f"The {size / 1e6:.0f} MB file is imported with IMPORT_MAX_BYTES raised to "
        f"{BENCH_IMPORT_MAX_BYTES:,} bytes in every step (the app's default is 20 MB).",
        flush=True,
    )
    write_rows(small_cli, 300_001, args.small_rows, seed=2)
    write_rows(small_admin, 400_001, args.small_rows, seed=3)
    write_rows(die, 500_001, args.die_rows, seed=4)
    write_rows(die_plain, 600_001, args.die_rows, seed=5)
    print(f"{args.rows:,} rows, {size / args.rows:,.0f} bytes a row ({size / 2**20:,.1f} MiB)")

    figures = {"rows": args.rows, "bytes_per_row": size / args.rows}
    figures["copy"] = copy = run_step("copy", big)
    figures["floor"] = floor = run_step("floor", big)
    figures["floor_without_search"] = plain = run_step("floor_without_search", big)
    figures["cli"] = cli = run_step("cli", big)
    figures["cli_again"] = again = run_step("cli", big)
    figures["cli_small"] = cli_small = run_step("cli", small_cli)
    figures["admin_small"] = admin = run_step("admin", small_admin)
    figures["die"] = die_result = run_step("die", die)
    figures["die_plain"] = plain_result = run_step("die_plain", die_plain)

    from catalog.models import Classification, Mitigation

    imported = Mitigation.objects.filter(number__gt=100_000, number__lte=100_000 + args.rows)
    figures["check"] = {
        "mitigations": imported.count(),
        "mitigation_history": Mitigation.history.filter(
            number__gt=100_000, number__lte=100_000 + args.rows
        ).count(),
        "classification_history": Classification.history.filter(
            mitigation_id__in=imported.values("pk")
        ).count(),
    }

    admin_total = admin["preview"] + admin["confirm"]
    die_rate = args.die_rows / die_result["seconds"]
    plain_rate = args.die_rows / plain_result["seconds"]
    lines = [
        f"PostgreSQL COPY into a bare table  {rate(args.rows, copy['seconds'])}"
        f"  {copy['seconds']:7.2f} s  peak {copy['peak_mb']:6.0f} MB",
        f"INSERT…SELECT into the schema      {rate(args.rows, floor['seconds'])}"
        f"  {floor['seconds']:7.2f} s  (the database's own work, history included)"
        f"  {floor['seconds'] / copy['seconds']:5.1f}x COPY",
        f"  the same without full-text search {rate(args.rows, plain['seconds'])}"
        f"  {plain['seconds']:7.2f} s  (search-vector trigger and GIN index set aside)"
        f"  {plain['seconds'] / copy['seconds']:5.1f}x COPY",
        f"import_mitigations, new rows       {rate(args.rows, cli['seconds'])}"
        f"  {cli['seconds']:7.2f} s  peak {cli['peak_mb']:6.0f} MB"
        f"  {cli['seconds'] / copy['seconds']:5.1f}x COPY"
        f"  {cli['seconds'] / floor['seconds']:4.1f}x INSERT…SELECT",
        f"import_mitigations, unchanged      {rate(args.rows, again['seconds'])}"
        f"  {again['seconds']:7.2f} s  peak {again['peak_mb']:6.0f} MB"
        f"  {again['seconds'] / copy['seconds']:5.1f}x COPY",
        f"django-import-export defaults      {die_rate:>9,.0f} rows/s"
        f"  {args.rows / die_rate:7.2f} s  (extrapolated from {args.die_rows:,} rows)"
        f"  {args.rows / die_rate / copy['seconds']:5.1f}x COPY",
        f"  its plain ModelResource, for reference {plain_rate:>9,.0f} rows/s"
        f"  {args.rows / plain_rate:7.2f} s  (Model.save(), no classification)",
        f"{args.small_rows:,} rows: import_mitigations {cli_small['seconds']:6.2f} s;"
        f" admin dry run {admin['preview']:6.2f} s + confirm {admin['confirm']:6.2f} s"
        f" = {admin_total:6.2f} s ({admin_total / cli_small['seconds']:.1f}x the command line),"
        f" admin peak {admin['peak_mb']:.0f} MB",
        f"check: {figures['check']}",
    ]
    print("\n".join(lines))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"import-{stamp}.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
