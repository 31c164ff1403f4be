#!/usr/bin/env python
"""Benchmark: do the public pages keep their time as the catalog grows? PostgreSQL, 10,000 to
300,000 mitigations.

    DATABASE_URL=postgres://root@127.0.0.1:5432/airm_speed .venv/bin/python bench/scaling.py
    … bench/scaling.py --sizes 10000 100000 300000 --runs 10

``DATABASE_URL`` names the PostgreSQL *server*; each size gets its own database on it,
``airm_bench_scale_<size>``, created and filled on first use with ``bench/browse.py``'s fixture
(reference data through the loader, the mitigations through ``COPY``, then ``ANALYZE`` as an
import through the app runs it; no ``VACUUM``) and reused afterwards (``--rebuild`` refills).
Each size runs in its own process.

For each size, through Django's test client (``DEBUG`` off, every middleware), as an
anonymous reader:

- **warm**: the same address again (the page comes from the page cache, with its validators);
- **cold**: the catalog version is bumped before each request, as every write does, so nothing
  kept before is used and every whole-catalog piece (facet counts, coverage, counts per node)
  is computed afresh.

Pages: a record page (with its "also in", siblings and history), a selective filter (source,
category and year), the unfiltered list, and the coverage chart. Prints medians in
milliseconds per size and the ratio of the largest size to the smallest, and writes
``bench/results/scaling.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _browse():
    spec = importlib.util.spec_from_file_location("bench_browse", ROOT / "bench" / "browse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure_size(size: int, runs: int, rebuild: bool) -> dict:
    browse = _browse()
    url = browse.bench_url(os.environ.get("DATABASE_URL", ""), f"airm_bench_scale_{size}")
    created = browse.ensure_database(url, rebuild=rebuild)
    browse.configure(url)

    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client, override_settings

    # Pages name their static files; the hashed names would need collectstatic's manifest.
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain}).enable()

    from catalog import version
    from catalog.models import Mitigation

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    if Mitigation.objects.count() < size:
        if Mitigation.objects.exists():
            sys.exit("The benchmark database holds another data set; run with --rebuild.")
        started = time.perf_counter()
        browse.fill(size)
        print(f"filled {size:,} in {time.perf_counter() - started:.0f} s", flush=True)
    record = browse.prepare_detail(size // 2)
    cache.clear()
    client = Client()
    pages = {
        "record page": record,
        "selective filter": "/mitigations/?source=NIST2024&airm-preliminary=3.1&year_min=2025",
        "list": "/mitigations/",
        "coverage": "/coverage/",
    }
    results = {}
    for name, address in pages.items():
        client.get(address)
        warm, cold = [], []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(address)
            warm.append(time.perf_counter() - started)
            assert response.status_code == 200, (address, response.status_code)
            version.bump()
            started = time.perf_counter()
            client.get(address)
            cold.append(time.perf_counter() - started)
        results[name] = {
            "url": address,
            "warm_ms": round(statistics.median(warm) * 1000, 1),
            "cold_ms": round(statistics.median(cold) * 1000, 1),
        }
        print(f"  {size:>7,} {name}: {results[name]}", flush=True)
    return {
        "size": size,
        "new_database": created,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "pages": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.size:
        print("RESULT " + json.dumps(measure_size(args.size, args.runs, args.rebuild)))
        return
    found = []
    for size in args.sizes:
        command = [sys.executable, __file__, "--size", str(size), "--runs", str(args.runs)]
        if args.rebuild:
            command.append("--rebuild")
        output = subprocess.run(  # noqa: S603 (this script, its own arguments)
            command, check=True, stdout=subprocess.PIPE, text=True
        ).stdout
        for line in output.splitlines():
            if line.startswith("RESULT "):
                found.append(json.loads(line.removeprefix("RESULT ")))
            else:
                print(line, flush=True)
    smallest, largest = found[0], found[-1]
    print(f"\n| page | kind | {' | '.join(f'{r["size"]:,}' for r in found)} | growth |")
    print(f"| --- | --- | {' | '.join('---:' for _ in found)} | ---: |")
    for name in smallest["pages"]:
        for kind in ("warm_ms", "cold_ms"):
            cells = " | ".join(f"{r['pages'][name][kind]:.1f}" for r in found)
            growth = largest["pages"][name][kind] / smallest["pages"][name][kind]
            print(f"| {name} | {kind[:-3]} | {cells} | {growth:.2f}× |")
    print(f"load average per size: {[r['load_average'] for r in found]}")
    out = ROOT / "bench" / "results" / "scaling.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": datetime.now(UTC).isoformat(), "sizes": found}, indent=2))


if __name__ == "__main__":
    main()
