"""Benchmark of cutting a data release on PostgreSQL with 100,000 mitigations.

    DATABASE_URL=postgres://root@127.0.0.1:5432/airm_releases .venv/bin/python bench/release.py

``DATABASE_URL`` names the PostgreSQL *server*; the benchmark works in its own database on it,
``airm_bench_release`` (``--database`` changes the name), filled on first use with the fixture
of ``bench/browse.py`` (reference data through the loader, 100,000 synthetic mitigations and
their classifications through ``COPY``) and reused afterwards (``--rebuild`` starts afresh).

It measures, alternating, ``--runs`` times each:

- the full CSV download of the catalog (``/mitigations/download.csv`` with every status, the
  whole body streamed through Django's test client), the yardstick of issue 11;
- building a release (``cut_release``: reading every record and classification, writing the
  frozen rows, digesting the package's files, publishing), in this process;

then the downloads of the last release (data package, workbook) and its diff with the
release before (every record of both read and compared; the catalog did not change between
them, so the diff is empty, which is its whole cost). Peak memory is the largest
growth of this process's resident set over its size just before each step, sampled every
20 ms by a helper thread (psutil), so a build that held the catalog in memory would show it.
Prints a Markdown table and writes ``bench/results/release.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import browse as fixture  # noqa: E402 - the shared 100,000-record fixture and helpers


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="airm_bench_release")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--total", type=int, default=fixture.TOTAL)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "release.json")
    parser.add_argument("--no-workbook", action="store_true", help="skip the XLSX download")
    return parser.parse_args()


class PeakMemory:
    """The largest growth of this process's resident set while the block runs (MB)."""

    def __init__(self):
        import psutil

        self._process = psutil.Process()
        self._stop = threading.Event()
        self.peak_growth_mb = 0.0

    def __enter__(self):
        self._base = self._process.memory_info().rss
        self._peak = self._base
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._process.memory_info().rss)
        self.peak_growth_mb = round((self._peak - self._base) / 1e6, 1)
        self.peak_mb = round(self._peak / 1e6, 1)


PEAKS: dict[str, float] = {}


def timed(step, name: str = "") -> tuple[float, float, object]:
    with PeakMemory() as memory:
        started = time.perf_counter()
        result = step()
        elapsed = time.perf_counter() - started
    PEAKS[name] = max(PEAKS.get(name, 0.0), memory.peak_mb)
    return elapsed, memory.peak_growth_mb, result


def stream(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    size = 0
    for chunk in response.streaming_content:
        size += len(chunk)
    return size


def main():
    args = parse_args()
    url = fixture.bench_url(os.environ.get("DATABASE_URL", ""), args.database)
    created = fixture.ensure_database(url, rebuild=args.rebuild)
    fixture.configure(url)

    from django.db import connection
    from django.test import Client

    from catalog.models import Classification, Mitigation
    from catalog.releases.services import cut_release

    fixture.migrate_and_fill(args.database, args.total, created=created)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    total = Mitigation.objects.count()
    print(
        f"{total:,} mitigations, {Classification.objects.count():,} classifications; "
        f"{args.runs} runs of each step, alternating\n",
        flush=True,
    )
    client = Client()
    csv_url = "/mitigations/download.csv?status=active&status=retired&status=merged"
    stream(client, csv_url)  # warm-up
    csv_runs, build_runs = [], []
    release = None
    for run in range(args.runs):
        seconds, growth, size = timed(lambda: stream(client, csv_url), "csv")
        csv_runs.append({"seconds": seconds, "peak_growth_mb": growth, "bytes": size})
        seconds, growth, release = timed(lambda: cut_release(notes="Benchmark"), "build")
        build_runs.append({"seconds": seconds, "peak_growth_mb": growth})
        print(
            f"run {run + 1}: CSV {csv_runs[-1]['seconds']:.1f} s, "
            f"release {build_runs[-1]['seconds']:.1f} s ({release.version})",
            flush=True,
        )
    downloads = {}
    for name, path in (
        ("Data package (zip)", f"/releases/{release.version}/datapackage.zip"),
        ("Workbook (XLSX)", f"/releases/{release.version}/workbook.xlsx"),
        ("Changes since the release before (JSON)", f"/releases/{release.version}/changes.json"),
    ):
        if args.no_workbook and path.endswith(".xlsx"):
            continue
        if path.endswith("changes.json") and args.runs < 2:
            continue  # a single run cuts one release: there is none before it to compare
        seconds, growth, size = timed(lambda path=path: stream(client, path), name)
        downloads[name] = {"seconds": seconds, "peak_growth_mb": growth, "bytes": size}

    def median(runs, key="seconds"):
        return statistics.median(run[key] for run in runs)

    ratio = median(build_runs) / median(csv_runs)
    rows = [
        ("Full CSV download (every record)", "csv", csv_runs),
        ("Release build (cut_release)", "build", build_runs),
        *((name, name, [d]) for name, d in downloads.items()),
    ]
    print("\n| step | median s | peak RSS MB | peak growth MB | size MB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, key, runs in rows:
        size = runs[0].get("bytes")
        shown = f"{size / 1e6:.1f}" if size else "–"
        growth = max(run["peak_growth_mb"] for run in runs)
        print(f"| {name} | {median(runs):.2f} | {PEAKS[key]:.0f} | {growth:.1f} | {shown} |")
    print(f"\nRelease build / full CSV download: {ratio:.2f}× (must be < 3×)")
    print(f"Machine: {fixture.machine_note()}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "records": total,
                "csv": csv_runs,
                "build": build_runs,
                "downloads": downloads,
                "ratio": ratio,
                "peak_rss_mb": PEAKS,
                "machine": fixture.machine_note(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
