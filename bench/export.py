"""Benchmark of the downloads: the whole active catalog (about 97,000 mitigations) as CSV, JSON
and XLSX, written through ``catalog.exports`` exactly as the list page's download and the
``export_mitigations`` command write it.

    DATABASE_URL=postgres://root@127.0.0.1:5432/airm .venv/bin/python bench/export.py

It reads the database that ``bench/browse.py`` fills (``airm_bench_browse`` on the server that
``DATABASE_URL`` names; run that first), writes nothing to it, and prints, per format, the
seconds, rows per second, the file size, the queries and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="airm_bench_browse")
    parser.add_argument("--formats", default="csv,json,xlsx")
    args = parser.parse_args()
    server = urlsplit(os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/airm"))
    if server.scheme not in {"postgres", "postgresql"}:
        sys.exit("DATABASE_URL must name a PostgreSQL server.")
    os.environ["DATABASE_URL"] = urlunsplit(server._replace(path=f"/{args.database}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airm_site.settings")
    os.environ.setdefault("DEBUG", "1")

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog import exports
    from catalog.models import Mitigation

    queryset = Mitigation.objects.active().order_by("number")
    total = queryset.count()
    print(f"{total:,} active mitigations in {args.database}\n")
    print("| format | seconds | rows/s | size (MB) | queries | peak memory (MB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for fmt in args.formats.split(","):
        with tempfile.TemporaryFile() as target, CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            exports.write(queryset, fmt, target)
            seconds = time.perf_counter() - started
            size = target.tell() / 1e6
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"| {fmt} | {seconds:.2f} | {total / seconds:,.0f} | {size:.1f} | "
            f"{len(queries.captured_queries)} | {peak:.0f} |"
        )


if __name__ == "__main__":
    main()
