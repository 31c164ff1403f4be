#!/usr/bin/env python
"""Benchmark: a contributor's spreadsheet of 500 proposals, from upload to "approve all".

    DATABASE_URL=postgres://root@127.0.0.1:5432/airm_bench_bulk \
        .venv/bin/python bench/bulk_proposals.py [--catalog 10000 --changed 250 --new 250]

The database named in DATABASE_URL is dropped and created again: never point it at one you
want to keep (the script refuses ``airm``, ``test``, ``root`` and ``postgres``). The catalog
is filled with ``--catalog`` synthetic mitigations through the command-line import; then a
contributor downloads the whole catalog as CSV (the export), renames ``--changed`` records
in it and adds ``--new`` rows, and everything a person would click runs through Django's test
client against that database, timed step by step:

1. upload and dry-run preview (every row planned, the preview stored), and one page of it;
2. confirm: the file planned again and checked against the preview, then one batch of
   ``--changed + --new`` submitted proposals created in one transaction;
3. the batch page, and the queue filtered by the batch;
4. a curator's "approve all": every proposal approved and applied, each in its own
   transaction, with history.

It prints each step's time, queries and rate, and the peak memory of the process, and writes
the figures to bench/results/bulk-proposals-<time>.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"


def django_setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airm_site.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host, email kept in memory


def timed(label: str, figures: dict, function, *, rows: int | None = None):
    from django.db import connection

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = function()
        seconds = time.perf_counter() - started
    figures[label] = {"seconds": seconds, "queries": queries}
    rate = f"{rows / seconds:>8,.0f} /s" if rows else " " * 11
    print(f"{label:<46} {seconds:>8.2f} s {rate} {queries:>9,} queries")
    return result


def import_bench():
    """bench/import.py, for its database reset, its preparation and its ~1 KB rows."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fill_catalog(bench, count: int) -> None:
    from catalog.imports.batches import FileToImport, import_files
    from catalog.models import ImportKind

    path = RESULTS / "data" / "bulk-catalog.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    bench.write_rows(path, 100_001, count, seed=11)
    ((report, _),) = import_files([FileToImport(path, ImportKind.MITIGATIONS)])
    assert report.ok, report.problems


def contributor_sheet(changed: int, new: int) -> bytes:
    """The whole catalog as the public CSV download, ``changed`` rows renamed, ``new`` added."""
    from catalog import exports
    from catalog.models import Mitigation

    buffer = io.BytesIO()
    exports.write(Mitigation.objects.order_by("number"), "csv", buffer)
    rows = list(csv.reader(io.StringIO(buffer.getvalue().decode("utf-8-sig"))))
    header = rows[0]
    name, source = header.index("Name"), header.index("Source")
    rng = random.Random(7)
    for row in rng.sample(rows[1:], changed):
        row[name] = row[name] + " (revised)"
    for n in range(new):
        row = [""] * len(header)
        row[name] = f"Proposed mitigation number {n} from the contributor's review"
        row[source] = "NIST2024"
        rows.append(row)
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog", type=int, default=10_000, help="records in the catalog")
    parser.add_argument("--changed", type=int, default=250, help="rows the contributor renames")
    parser.add_argument("--new", type=int, default=250, help="rows the contributor adds")
    args = parser.parse_args()
    django_setup()
    bench = import_bench()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from catalog.models import Mitigation
    from catalog.roles import CURATORS_GROUP

    bench.reset_database()
    connection.close()
    bench.prepare()
    settings.REVIEW_BULK_MAX_PROPOSALS = max(
        settings.REVIEW_BULK_MAX_PROPOSALS, args.changed + args.new
    )
    fill_catalog(bench, args.catalog)
    users = get_user_model().objects
    author = users.create_user("bench-contributor", "contributor@example.org", "x")
    curator = users.create_user("bench-curator", "curator@example.org", "x")
    curator.groups.add(Group.objects.get(name=CURATORS_GROUP))
    data = contributor_sheet(args.changed, args.new)
    total_rows = Mitigation.objects.count() + args.new
    proposals = args.changed + args.new
    print(
        f"catalog {Mitigation.objects.count():,} records; the sheet: {total_rows:,} rows, "
        f"{len(data) / 2**20:.1f} MiB, {args.changed:,} changed and {args.new:,} new "
        f"→ {proposals:,} proposals"
    )
    figures: dict = {"catalog": args.catalog, "rows": total_rows, "proposals": proposals}
    contributor_client, curator_client = Client(), Client()
    contributor_client.force_login(author)
    curator_client.force_login(curator)

    def upload():
        response = contributor_client.post(
            reverse("review:upload"), {"file": SimpleUploadedFile("review.csv", data)}
        )
        assert response.status_code == 302, response.content[:500]
        return response["Location"]

    preview_url = timed("upload + dry-run preview (all rows)", figures, upload, rows=total_rows)
    timed(
        "a page of the preview (changed rows, page 3)",
        figures,
        lambda: contributor_client.get(preview_url, {"show": "changed", "page": 3}),
    )
    from review.models import ProposalUpload

    upload_record = ProposalUpload.objects.latest("pk")
    assert upload_record.status == "previewed", (upload_record.problems, upload_record.note)

    def confirm():
        response = contributor_client.post(
            reverse("review:upload-confirm", args=[upload_record.pk]),
            {"rationale": "Revised names after the annual review."},
        )
        assert response.status_code == 302, response.content[:500]

    timed("confirm: plan again, create the batch", figures, confirm, rows=proposals)
    upload_record.refresh_from_db()
    assert upload_record.status == "proposed", upload_record.note
    batch = upload_record.batch
    timed("the batch page", figures, lambda: curator_client.get(batch.get_absolute_url()))
    timed(
        "the queue, filtered by the batch",
        figures,
        lambda: curator_client.get(reverse("review:queue"), {"batch": batch.pk}),
    )

    def approve_all():
        response = curator_client.post(reverse("review:batch-approve", args=[batch.pk]))
        assert response.status_code == 302

    timed("approve all: apply each, with history", figures, approve_all, rows=proposals)
    states = dict(batch.proposals.values_list("state").annotate(n=Count("pk")))
    figures["states_after"] = states
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"after approve all: {states}; peak memory {figures['peak_mb']:.0f} MB")
    assert states == {"approved": proposals}, states

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"bulk-proposals-{stamp}.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
