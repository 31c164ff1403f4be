#!/usr/bin/env python
"""Benchmark: do the public pages keep their time as the catalog grows? PostgreSQL, 10,000 to
300,000 mitigations.

    DATABASE_URL=postgres://root@127.0.0.1:5432/airm_speed .venv/bin/python bench/scaling.py
    … bench/scaling.py --sizes 10000 100000 300000 --runs 10

``DATABASE_URL`` names the PostgreSQL *server*; each size gets its own database on it,
``airm_bench_scale_<size>``, created and filled on first use with ``bench/browse.py``'s fixture
(reference data through the loader, the mitigations through ``COPY``, then
``catalog.maintenance.analyze`` as an import through the app runs it: ``VACUUM (ANALYZE)`` on
PostgreSQL; no other vacuum) and reused afterwards (``--rebuild`` refills).
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

``--baseline REF`` also measures "today": the code at git commit ``REF`` (by default
``02c1889``, main before the page cache, FTS5 and ANALYZE work of issue 10), unpacked with
``git archive`` into ``bench/results/baseline-<REF>/`` and run against the same database in a
process of its own right after the current code's, same pages, same number of requests.
``--rounds N`` runs N such pairs of processes per size, alternating, and takes each figure's
median over all their samples (drift on a shared machine then falls on both codes alike).
That code keeps nothing, so every request of it is "cold"; the table gains a ``today`` row per
page and the ratio cold ÷ today (≤ 1: the first request after a write is no slower than
before the cache).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
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
            "warm_samples": [round(x * 1000, 2) for x in warm],
            "cold_samples": [round(x * 1000, 2) for x in cold],
        }
        shown = {k: v for k, v in results[name].items() if not k.endswith("_samples")}
        print(f"  {size:>7,} {name}: {shown}", flush=True)
    return {
        "size": size,
        "new_database": created,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "pages": results,
    }


def measure_baseline(size: int, runs: int, tree: Path, addresses: dict) -> dict:
    """The same pages on the older code in ``tree`` (no cache of any kind there)."""
    sys.path[:] = [str(tree)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT]
    os.chdir(tree)
    browse = _browse()
    sys.path[:] = [str(tree)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT]
    url = browse.bench_url(os.environ.get("DATABASE_URL", ""), f"airm_bench_scale_{size}")
    browse.configure(url)
    import catalog

    assert Path(catalog.__file__).resolve().is_relative_to(tree), catalog.__file__
    from django.conf import settings
    from django.test import Client, override_settings

    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain}).enable()
    client = Client()
    results = {}
    for name, address in addresses.items():
        client.get(address)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(address)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (address, response.status_code)
        results[name] = {
            "url": address,
            "today_ms": round(statistics.median(timings) * 1000, 1),
            "today_samples": [round(x * 1000, 2) for x in timings],
        }
        shown = {k: v for k, v in results[name].items() if not k.endswith("_samples")}
        print(f"  {size:>7,} {name} (at {tree.name}): {shown}", flush=True)
    return {"size": size, "load_average": [round(x, 2) for x in os.getloadavg()], "pages": results}


def baseline_tree(ref: str) -> Path:
    """The code at ``ref``, unpacked once (not a worktree: nothing is added to git)."""
    git, tar = shutil.which("git"), shutil.which("tar")
    if not git or not tar:
        sys.exit("--baseline needs git and tar on the PATH.")
    commit = subprocess.run(  # noqa: S603 (git, fixed arguments)
        [git, "rev-parse", "--short", ref], cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
    ).stdout.strip()
    tree = ROOT / "bench" / "results" / f"baseline-{commit}"
    if not (tree / "manage.py").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(  # noqa: S603
            [git, "archive", commit], cwd=ROOT, check=True, stdout=subprocess.PIPE
        ).stdout
        subprocess.run([tar, "-x", "-C", str(tree)], input=archive, check=True)  # noqa: S603
    return tree


def _run(command: list[str]) -> dict:
    output = subprocess.run(  # noqa: S603 (this script, its own arguments)
        command, check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    found = None
    for line in output.splitlines():
        if line.startswith("RESULT "):
            found = json.loads(line.removeprefix("RESULT "))
        else:
            print(line, flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--rounds", type=int, default=1, help="processes per size (alternating with --baseline)"
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--baseline",
        nargs="?",
        const="02c1889",
        help="also measure the code at this commit (default 02c1889, before issue 10)",
    )
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--addresses", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.size and args.tree:
        result = measure_baseline(args.size, args.runs, Path(args.tree), json.loads(args.addresses))
        print("RESULT " + json.dumps(result))
        return
    if args.size:
        print("RESULT " + json.dumps(measure_size(args.size, args.runs, args.rebuild)))
        return
    tree = baseline_tree(args.baseline) if args.baseline else None
    found = []
    for size in args.sizes:
        # Rounds alternate the current code's process and the older code's, so drift on a
        # shared machine falls on both; each figure is the median of all its rounds' samples.
        rounds = []
        for number in range(args.rounds):
            command = [sys.executable, __file__, "--size", str(size), "--runs", str(args.runs)]
            if args.rebuild and number == 0:
                command.append("--rebuild")
            result = _run(command)
            if tree is not None:
                addresses = {name: page["url"] for name, page in result["pages"].items()}
                today = _run(
                    [
                        sys.executable,
                        __file__,
                        "--size",
                        str(size),
                        "--runs",
                        str(args.runs),
                        "--tree",
                        str(tree),
                        "--addresses",
                        json.dumps(addresses),
                    ]
                )
                for name, page in today["pages"].items():
                    result["pages"][name]["today_samples"] = page["today_samples"]
                result["baseline"] = {"tree": tree.name, "load_average": today["load_average"]}
            rounds.append(result)
        merged = rounds[0]
        for name, page in merged["pages"].items():
            for kind in ("warm", "cold", "today"):
                samples = [x for r in rounds for x in r["pages"][name].get(f"{kind}_samples", [])]
                if samples:
                    page[f"{kind}_samples"] = samples
                    page[f"{kind}_ms"] = round(statistics.median(samples), 1)
        merged["rounds"] = args.rounds
        found.append(merged)
    smallest, largest = found[0], found[-1]
    kinds = ("warm_ms", "cold_ms") + (("today_ms",) if tree is not None else ())
    print(f"\n| page | kind | {' | '.join(f'{r["size"]:,}' for r in found)} | growth |")
    print(f"| --- | --- | {' | '.join('---:' for _ in found)} | ---: |")
    for name in smallest["pages"]:
        for kind in kinds:
            cells = " | ".join(f"{r['pages'][name][kind]:.1f}" for r in found)
            growth = largest["pages"][name][kind] / smallest["pages"][name][kind]
            print(f"| {name} | {kind[:-3]} | {cells} | {growth:.2f}× |")
        if tree is not None:
            cells = " | ".join(
                f"{r['pages'][name]['cold_ms'] / r['pages'][name]['today_ms']:.2f}×" for r in found
            )
            print(f"| {name} | cold ÷ today | {cells} | |")
    print(f"load average per size: {[r['load_average'] for r in found]}")
    out = ROOT / "bench" / "results" / "scaling.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": datetime.now(UTC).isoformat(), "sizes": found}, indent=2))


if __name__ == "__main__":
    main()
