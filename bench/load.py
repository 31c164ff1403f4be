"""Load test: the site as ``make serve`` runs it, on PostgreSQL with 100,000 mitigations, driven
by concurrent HTTP clients over the loopback interface.

    DATABASE_URL=postgres://root@127.0.0.1:5432/airm .venv/bin/python bench/load.py
    # options: --clients 8,32 --seconds 60 --workers 3 --port 8100
    #          --page list,filters,coverage,record   (each page alone, at 8 clients)

``DATABASE_URL`` names the PostgreSQL *server*; the script works in its own database,
``airm_bench_load`` (``--database`` changes the name), created, migrated and filled on first use
with the fixture of ``bench/browse.py`` (reference data through the loader, 100,000 mitigations
and their classifications by ``COPY``; 97% active, 2% retired, 1% merged), reused afterwards
(``--rebuild`` starts afresh).

The server: what ``make serve`` runs, step by step (``make serve`` itself would first check the
virtualenv's install stamp): ``migrate``, ``collectstatic`` (into a folder under
``bench/results/``), then ``gunicorn -c python:airm_site.gunicorn_conf`` with ``DEBUG=0``,
``WEB_CONCURRENCY`` workers (``--workers``, default 3), a ``SECRET_KEY`` made up by the script,
``ALLOWED_HOSTS=127.0.0.1``, ``CONN_MAX_AGE=60`` (the README's recommendation) and the HTTPS
redirect off (a TLS proxy would sit in front). The cache is the default one, the database's
``airm_cache`` table, unless ``--redis-url`` names a Redis database. gunicorn binds
``127.0.0.1:--port`` only; its log goes to ``bench/results/load-server.log``.

The clients: one thread per client, each with its own ``http.client`` connection (kept open
when the server allows it; gunicorn's sync workers close it after every answer, so the client
reconnects), asking one page after another with no pause. Each client draws its next page from
a fixed-seed mix (``MIX``) and, within the page, one of several addresses (several list pages,
filter combinations, search terms, 500 different records, …). A request counts as an error
unless it answers 200 with a body, within ``--timeout`` seconds. Bounded: every phase stops after
``--seconds`` or ``--max-requests``, whichever comes first; nothing but 127.0.0.1 is contacted.

Each phase is preceded by ``--warmup`` seconds of the same load, not counted. It prints per page
and overall: requests, errors, median (p50) / p95 / p99 latency in ms, requests per second, and
the machine's load average (``os.getloadavg``) before and after.

``--page NAME[,NAME…]`` measures each page alone instead (one fixed address, warm), at 8 clients
unless ``--clients`` says otherwise: the requests per second that issue 10 bounds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import browse as fixture  # noqa: E402 - the shared 100,000-record fixture and helpers

HOST = "127.0.0.1"
SEED = 20261202

# Share of each page in the mix (weights): records are what most visitors open; the list and
# search bring them there; coverage and downloads are rarer.
MIX = {
    "list": 20,
    "filters": 15,
    "search": 20,
    "record": 30,
    "coverage": 10,
    "download": 5,
}
LABELS = {
    "list": "List, no filter",
    "filters": "List, 3 filters",
    "search": "Search",
    "record": "Record page",
    "coverage": "Coverage",
    "download": "Download CSV (one source)",
    "download-all": "Download CSV (the whole active list)",
}
SOURCES = [
    "NIST2024",
    "UK Government2023",
    "EU AI Office2025",
    "Bengio2025",
    "Schuett2023",
    "Campos2025",
]


def page_addresses(record_urls: list[str]) -> dict[str, list[str]]:
    """Every address each page is asked at; the first is the one ``--page`` measures alone."""
    return {
        "list": ["/mitigations/"] + [f"/mitigations/?page={n}" for n in range(2, 11)],
        "filters": [
            "/mitigations/?airm-preliminary=3&lifecycle=deploy&year_min=2024",
            "/mitigations/?source=NIST2024&doc_type=government&status=active",
            "/mitigations/?airm-preliminary=1&actor=developer&status=active",
            "/mitigations/?airm-draft=2.2&lifecycle=verify-validate&year_min=2024",
        ],
        "search": [
            "/mitigations/?q=red+team",
            "/mitigations/?q=audit",
            "/mitigations/?q=watermarking",
            "/mitigations/?q=incident+reporting",
            "/mitigations/?q=%22model+weights%22",
            "/mitigations/?q=bug+bount",
        ],
        "record": record_urls,
        "coverage": ["/coverage/", "/coverage/?by=lifecycle&depth=2"],
        "download": [
            "/mitigations/download.csv?source=" + source.replace(" ", "+") for source in SOURCES
        ],
        # Not in the mix (MIX): 97,000 rows, seconds each; ``--page download-all`` alone.
        "download-all": ["/mitigations/download.csv?status=active"],
    }


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="airm_bench_load", help="benchmark database name")
    parser.add_argument("--rebuild", action="store_true", help="drop and refill the database")
    parser.add_argument("--total", type=int, default=fixture.TOTAL, help="synthetic mitigations")
    parser.add_argument("--port", type=int, default=8100, help="gunicorn's port on 127.0.0.1")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--clients", default=None, help="concurrent clients per phase (8,32)")
    parser.add_argument("--seconds", type=float, default=60, help="length of each phase")
    parser.add_argument("--warmup", type=float, default=5, help="uncounted seconds before each")
    parser.add_argument("--timeout", type=float, default=30, help="per-request timeout (s)")
    parser.add_argument(
        "--max-requests", type=int, default=100_000, help="cap on the requests of one phase"
    )
    parser.add_argument(
        "--page",
        default=None,
        help=f"measure these pages alone ({', '.join(LABELS)}), comma-separated; 'all': the mix's",
    )
    parser.add_argument("--redis-url", default="", help="use this Redis as the cache")
    parser.add_argument("--conn-max-age", default="60", help="CONN_MAX_AGE of the server")
    parser.add_argument(
        "--json",
        type=Path,
        default=HERE / "results" / "load.json",
        help="also write the figures here (default: bench/results/load.json, not committed)",
    )
    args = parser.parse_args()
    if args.clients is None:
        args.clients = "8" if args.page else "8,32"
    args.clients = [int(n) for n in args.clients.split(",") if n.strip()]
    if args.page:
        names = list(MIX) if args.page == "all" else args.page.split(",")
        unknown = [name for name in names if name not in LABELS]
        if unknown:
            parser.error(f"unknown page {', '.join(unknown)}; pages: {', '.join(LABELS)}")
        args.page = names
    if not 1 <= max(args.clients) <= 256:
        parser.error("--clients: between 1 and 256")
    if not 1 <= args.port <= 65535:
        parser.error("--port: a port number")
    return args


# --------------------------------------------------------------------------- the server


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def server_environment(database_url: str, args) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL", "CONN_MAX_AGE"}
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "CONN_MAX_AGE": str(args.conn_max_age),
            "PORT": str(args.port),
            "WEB_CONCURRENCY": str(args.workers),
            "STATIC_ROOT": str(HERE / "results" / "load-static"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    return env


class Server:
    """gunicorn as ``make serve`` starts it; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        python = str(ROOT / ".venv" / "bin" / "python")
        for step in (["migrate", "--noinput"], ["collectstatic", "--noinput", "--verbosity", "0"]):
            subprocess.run(  # noqa: S603 (our own interpreter and arguments)
                [python, "manage.py", *step], cwd=ROOT, env=self.env, check=True
            )
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 (our own gunicorn and arguments)
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "python:airm_site.gunicorn_conf"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn stopped at start; see {self.log_path}")
            try:
                status, _ = get(int(self.env["PORT"]), "/healthz", timeout=5)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        self.__exit__(None, None, None)
        sys.exit(f"gunicorn did not answer /healthz within 60 s; see {self.log_path}")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def get(port: int, url: str, timeout: float) -> tuple[int, int]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", url)
        response = connection.getresponse()
        return response.status, len(response.read())
    finally:
        connection.close()


# --------------------------------------------------------------------------- the clients


@dataclass
class Phase:
    port: int
    plan: list[tuple[str, list[str]]]  # (page, its addresses) with weights in ``weights``
    weights: list[int]
    clients: int
    seconds: float
    max_requests: int
    timeout: float
    samples: list[tuple[str, float, str]] = field(default_factory=list)
    issued: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        with self.lock:
            if self.issued >= self.max_requests:
                return False
            self.issued += 1
            return True


def client(phase: Phase, index: int, deadline: float) -> None:
    rng = random.Random(SEED * 1000 + index)
    connection = http.client.HTTPConnection(HOST, phase.port, timeout=phase.timeout)
    headers = {"User-Agent": "airm-bench-load", "Accept": "text/html,*/*"}
    while time.monotonic() < deadline and phase.take():
        page, addresses = rng.choices(phase.plan, phase.weights)[0]
        url = rng.choice(addresses)
        started = time.perf_counter()
        outcome = "ok"
        try:
            connection.request("GET", url, headers=headers)
            response = connection.getresponse()
            size = 0
            while chunk := response.read(65536):
                size += len(chunk)
            if response.status != 200:
                outcome = f"HTTP {response.status}"
            elif size == 0:
                outcome = "empty body"
            if response.will_close:
                connection.close()
        except (OSError, http.client.HTTPException) as error:
            outcome = type(error).__name__
            connection.close()
        phase.samples.append((page, time.perf_counter() - started, outcome))
    connection.close()


def run_phase(phase: Phase) -> float:
    """Run the clients for the phase's length; return the wall time it took."""
    deadline = time.monotonic() + phase.seconds
    threads = [
        threading.Thread(target=client, args=(phase, index, deadline), daemon=True)
        for index in range(phase.clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(phase.seconds + phase.timeout + 5)
    return time.perf_counter() - started


def percentile_ms(samples: list[float], share: float) -> float:
    return round(fixture.percentile(samples, share) * 1000, 1) if samples else 0.0


def tally(samples: list[tuple[str, float, str]], wall: float, pages: list[str]) -> list[dict]:
    rows = []
    for page in [*pages, None]:
        chosen = [s for s in samples if page is None or s[0] == page]
        if not chosen:
            continue
        times = [s[1] for s in chosen]
        errors: dict[str, int] = {}
        for _, _, outcome in chosen:
            if outcome != "ok":
                errors[outcome] = errors.get(outcome, 0) + 1
        rows.append(
            {
                "page": page or "all",
                "requests": len(chosen),
                "errors": sum(errors.values()),
                "error_kinds": errors,
                "p50_ms": percentile_ms(times, 0.50),
                "p95_ms": percentile_ms(times, 0.95),
                "p99_ms": percentile_ms(times, 0.99),
                "rps": round(len(chosen) / wall, 1),
            }
        )
    return rows


def server_cpu(server: Server) -> float:
    """CPU seconds used so far by gunicorn's workers (PostgreSQL's share is not counted: its
    connections are recycled after ``CONN_MAX_AGE`` and parallel queries run in short-lived
    helper processes, so no per-process reading adds up)."""
    import psutil

    assert server.process is not None
    seconds = 0.0
    for child in psutil.Process(server.process.pid).children():
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        seconds += times.user + times.system
    return seconds


def loadavg() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(server, plan, weights, clients, args) -> dict:
    port = args.port
    if args.warmup > 0:
        run_phase(Phase(port, plan, weights, clients, args.warmup, args.max_requests, args.timeout))
    before, cpu_before = loadavg(), cpu_seconds()
    app_before = server_cpu(server)
    phase = Phase(port, plan, weights, clients, args.seconds, args.max_requests, args.timeout)
    wall = run_phase(phase)
    app_after = server_cpu(server)
    rows = tally(phase.samples, wall, [page for page, _ in plan])
    count = max(1, len(phase.samples))
    return {
        "app_cpu_ms_per_request": round((app_after - app_before) * 1000 / count, 1),
        "clients": clients,
        "seconds": round(wall, 1),
        "loadavg_before": before,
        "loadavg_after": loadavg(),
        "client_cpu_s": round(cpu_seconds() - cpu_before, 1),
        "capped": phase.issued >= args.max_requests,
        "rows": rows,
    }


def print_phase(title: str, result: dict) -> None:
    print(f"\n### {title}\n")
    print(
        f"{result['clients']} clients, {result['seconds']} s; load average (1, 5, 15 min) "
        f"before {result['loadavg_before']}, after {result['loadavg_after']}; the clients "
        f"used {result['client_cpu_s']} s of CPU"
        + ("; STOPPED BY --max-requests" if result["capped"] else "")
        + f"; gunicorn's workers used {result['app_cpu_ms_per_request']} ms of CPU a request.\n"
    )
    print("| page | requests | errors | p50 (ms) | p95 (ms) | p99 (ms) | requests/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in result["rows"]:
        label = "**all**" if row["page"] == "all" else LABELS.get(row["page"], row["page"])
        errors = str(row["errors"])
        if row["error_kinds"]:
            errors += " (" + ", ".join(f"{k}: {v}" for k, v in row["error_kinds"].items()) + ")"
        print(
            f"| {label} | {row['requests']:,} | {errors} | {row['p50_ms']} | {row['p95_ms']} "
            f"| {row['p99_ms']} | {row['rps']} |"
        )


def server_faults(log_path: Path) -> list[str]:
    markers = ("[ERROR]", "[CRITICAL]", "WORKER TIMEOUT", "Traceback", "Internal Server Error")
    lines = log_path.read_text(errors="replace").splitlines()
    return [line for line in lines if any(marker in line for marker in markers)]


# --------------------------------------------------------------------------- main


def prepare(args) -> tuple[str, list[str], str]:
    """The filled database's URL, the record addresses of the mix, and the machine note."""
    url = fixture.bench_url(os.environ.get("DATABASE_URL", ""), args.database)
    created = fixture.ensure_database(url, rebuild=args.rebuild)
    environment = dict(os.environ)
    fixture.configure(url)

    from catalog.models import format_public_id

    fixture.migrate_and_fill(args.database, args.total, created=created)
    detail_url = fixture.prepare_detail(args.total // 2)
    # 500 records across the catalogue (active ones: the fixture retires every 50th and merges
    # every 100th + 1), the record with a history first.
    rng = random.Random(SEED)
    numbers = [n for n in range(1, args.total + 1) if n % 50 and n % 100 != 1]
    records = [detail_url] + [
        f"/mitigations/{format_public_id(n)}/" for n in rng.sample(numbers, 499)
    ]
    note = fixture.machine_note()
    from django.db import connection

    connection.close()
    os.environ.clear()
    os.environ.update(environment)
    return url, records, note


def main():
    args = parse_args()
    if not port_free(args.port):
        sys.exit(f"Port {args.port} on {HOST} is taken; choose another with --port.")
    database_url, records, note = prepare(args)
    addresses = page_addresses(records)
    results_dir = HERE / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    log_path = results_dir / "load-server.log"
    env = server_environment(database_url, args)
    report: dict = {"machine": note, "nproc": os.cpu_count(), "workers": args.workers}
    print(f"Machine: {note}; load average now {loadavg()}", flush=True)

    with Server(env, log_path) as server:
        print(
            f"gunicorn on http://{HOST}:{args.port}/ with {args.workers} workers, DEBUG off, "
            f"cache: {'Redis' if args.redis_url else 'database'}",
            flush=True,
        )
        # Every address answers before the clock starts (and each is warm once).
        checks = [url for page in (args.page or MIX) for url in addresses[page][:3]]
        for url in checks:
            status, size = get(args.port, url, timeout=args.timeout)
            if status != 200 or not size:
                sys.exit(f"{url} answered {status} ({size} bytes) before the run; not measuring.")
        phases = []
        if args.page:
            for clients in args.clients:
                for page in args.page:
                    plan = [(page, addresses[page][:1])]
                    result = measure(server, plan, [1], clients, args)
                    result["page"] = page
                    result["url"] = addresses[page][0]
                    phases.append(result)
                    print_phase(f"{LABELS[page]} alone ({addresses[page][0]})", result)
        else:
            plan = [(page, addresses[page]) for page in MIX]
            for clients in args.clients:
                result = measure(server, plan, list(MIX.values()), clients, args)
                phases.append(result)
                print_phase(f"Mix at {clients} clients", result)
    faults = server_faults(log_path)
    report["phases"] = phases
    report["server_faults"] = len(faults)
    errors = sum(row["errors"] for phase in phases for row in phase["rows"] if row["page"] == "all")
    print(f"\nServer log ({log_path}): {len(faults)} error lines")
    for line in faults[:10]:
        print("   ", line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    shutil.rmtree(results_dir / "load-static", ignore_errors=True)
    if errors or faults:
        print(f"\nFAILED: {errors} request errors, {len(faults)} server errors.")
        sys.exit(1)
    print("\n0 errors.")


if __name__ == "__main__":
    main()
