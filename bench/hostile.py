"""Hostile files and requests: how long each refusal takes and how much memory it needs.

    .venv/bin/python bench/hostile.py                 # every case, every way in
    .venv/bin/python bench/hostile.py --ways command  # only the command line
    .venv/bin/python bench/hostile.py --cases bomb,deep-json

Each case is a file from ``tests/hostile.py`` at the size of the report in issue 8 (a 1.6 KB
sheet declaring ``A1:XFD1048576``, a 490 KB workbook unpacking to 480 MB, a 1.1 MB workbook with
450 MB of shared strings, JSON nested 100,000 levels, a 15 MB definition, …). Each case runs in
a fresh process per way in: ``import_mitigations --dry-run`` (command line), the admin's upload
and a contributor's upload (``/review/upload/``, both through Django's test client, the whole
request with its middleware). The table gives the seconds of the import call (wall clock and
CPU), the process's peak resident memory (``ru_maxrss``) and how much the case added to it, and
the start of what the person is told. The last case sends a real 1 GB upload's headers to
gunicorn (port 8290) and times the 413.

The work happens in a SQLite database of its own under ``bench/results/hostile/`` (migrated and
given the reference data and demo accounts on the first run); the generated files are kept there
too (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "hostile"
DATABASE = RESULTS / "hostile.sqlite3"
PORT = 8290
WAYS = ("command", "admin", "contributor")
ENV = {
    "DJANGO_SETTINGS_MODULE": "airm_site.settings",
    "DEBUG": "1",
    "DATABASE_URL": f"sqlite:///{DATABASE}",
    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "IMPORT_UPLOAD_DIR": str(RESULTS / "uploads"),
    "LOG_LEVEL": "ERROR",
}


def cases():
    """name → (generator of the file at ``path``, what the report said); files: FILE_NAMES."""
    from tests import hostile

    return {
        "dimension": (
            hostile.declared_dimension_sheet,
            "1.6 KB, declares A1:XFD1048576, a row at 1,048,576: a worker for about an hour",
        ),
        "last-column": (
            lambda p: hostile.declared_dimension_sheet(p, column=16_384),
            "the same with its cell in column XFD",
        ),
        "blank-rows": (
            lambda p: hostile.blank_rows_sheet(p, blank=250_000),
            "250,000 blank <row> elements, then one row",
        ),
        "bomb": (
            lambda p: hostile.sheet_zip_bomb(p, unpacked=480_000_000),
            "490 KB unpacking to 480 MB: 1.0-1.8 GB of memory",
        ),
        "bomb-streamed": (
            lambda p: hostile.sheet_zip_bomb(p, unpacked=250_000_000),
            "250 MB, declared honestly: under the declared limit, refused while streaming",
        ),
        "strings-bomb": (
            lambda p: hostile.shared_strings_bomb(p, unpacked=450_000_000),
            "1.1 MB with 450 MB of shared strings: 1.0-1.8 GB of memory",
        ),
        "lying-sizes": (
            lambda p: hostile.lying_sizes_workbook(p, unpacked=250_000_000),
            "headers claim 512 bytes for a 250 MB part",
        ),
        "laughs": (hostile.entity_bomb_sheet, "billion laughs in the sheet"),
        "xxe": (hostile.external_entity_sheet, "external entity: /etc/passwd"),
        "nul-cell": (hostile.nul_cell_csv, "a NUL in a cell: a 500"),
        "deep-json": (
            lambda p: hostile.deep_json(p, depth=100_000),
            "nested 100,000 deep: a 500",
        ),
        "huge-json": (
            lambda p: hostile.many_values_json(p, values=6_500_000),
            "19.5 MB of empty objects (6.5 million values)",
        ),
        "long-definition": (
            lambda p: hostile.long_definition_csv(p, length=15 * 1024 * 1024),
            "a 15 MB definition: accepted, then a 15 MB search page",
        ),
        "pdf": (hostile.pdf_named_csv, "a PDF named .csv"),
    }


# --------------------------------------------------------------------------- one case (child)


def run_case(name: str, way: str) -> dict:
    import django

    django.setup()
    from django.core.management import CommandError, call_command
    from django.test import Client

    file_name = FILE_NAMES[name]
    path = RESULTS / file_name
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    if way == "command":
        from io import StringIO

        out, err = StringIO(), StringIO()
        try:
            call_command(
                "import_mitigations",
                str(path),
                "--dry-run",
                "--no-progress",
                stdout=out,
                stderr=err,
            )
            said = out.getvalue().splitlines()[0]
        except CommandError:
            said = (err.getvalue().strip().splitlines() or [""])[0].strip()
    else:
        from django.contrib.auth import get_user_model
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.urls import reverse

        user = get_user_model().objects.get(
            username="demo-admin" if way == "admin" else "demo-contributor"
        )
        client = Client()
        client.force_login(user)
        upload = SimpleUploadedFile(file_name, path.read_bytes())
        if way == "admin":
            response = client.post(
                reverse("admin:catalog_importbatch_upload"), {"kind": "mitigations", "file": upload}
            )
            from catalog.models import ImportBatch as Record
        else:
            response = client.post(reverse("review:upload"), {"file": upload})
            from review.models import ProposalUpload as Record
        record = Record.objects.latest("pk")
        said = (record.problems or [record.note or f"{record.rows_total} rows"])[0]
        if record.rows_error:
            said = f"{record.rows_error} row(s) with errors: " + "; ".join(
                f"{e['where']}: {e['message']}" for e in record.summary.get("errors", [])
            )
        assert response.status_code == 302, response.status_code
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "cpu": cpu, "peak_mb": peak / 1024,
            "added_mb": (peak - before) / 1024, "said": said}  # fmt: skip


# --------------------------------------------------------------------------- the 1 GB upload


def one_gigabyte_upload() -> dict:
    """Start gunicorn, send a 1 GB multipart upload's headers and 64 KB of its body, time the
    answer; then check that the worker still answers and how big it is."""
    import psutil

    server = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "gunicorn", "airm_site.wsgi", "-b", f"127.0.0.1:{PORT}", "-w", "1",
         "--timeout", "60"],
        cwd=ROOT, env={**os.environ, **ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", PORT), timeout=30) as sock:  # warm up
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            sock.recv(64)
        head = (
            "POST /review/upload/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: multipart/form-data; boundary=xyz\r\n"
            f"Content-Length: {1024**3}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", PORT), timeout=30) as sock:
            started = time.perf_counter()
            sock.sendall(head + b"x" * 65_536)
            answer = sock.recv(65_536)
            seconds = time.perf_counter() - started
            while b"</html>" not in answer and (more := sock.recv(65_536)):
                answer += more
            answer = answer.decode("utf-8", "replace")
        with socket.create_connection(("127.0.0.1", PORT), timeout=30) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            after = sock.recv(64).decode("latin-1").split("\r\n")[0]
        workers = psutil.Process(server.pid).children()
        rss = max((w.memory_info().rss for w in workers), default=0) / 1e6
        status = answer.split("\r\n")[0]
        said = answer.split('role="alert">')[-1].split("</p>")[0] if "alert" in answer else ""
        return {"seconds": seconds, "status": status, "said": said, "after": after,
                "worker_mb": rss}  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)


# --------------------------------------------------------------------------- the table (parent)


def prepare(names) -> None:
    """Migrate the bench's database and write the files, in a child process: a process started
    from this one would otherwise inherit its peak memory (``ru_maxrss`` survives exec)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--prepare", ",".join(names)],
        cwd=ROOT, env={**os.environ, **ENV}, check=True,
    )  # fmt: skip


def write_files(names) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(ENV)
    if not DATABASE.exists():
        for command in (["migrate", "--noinput", "-v0"], ["load_reference_data", "--with-demo"]):
            subprocess.run(  # noqa: S603
                [sys.executable, "manage.py", *command], cwd=ROOT, env=os.environ, check=True,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
    import django

    django.setup()
    for name in names:
        make, _ = cases()[name]
        path = RESULTS / FILE_NAMES[name]
        if not path.exists():
            make(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", help="comma-separated names (default: all)")
    parser.add_argument("--ways", default=",".join(WAYS), help="command, admin, contributor")
    parser.add_argument("--no-upload", action="store_true", help="skip the 1 GB upload")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "WAY"), help=argparse.SUPPRESS)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        write_files(args.prepare.split(","))
        return
    if args.child:
        sys.path.insert(0, str(ROOT))
        os.environ.update(ENV)
        print(json.dumps(run_case(*args.child)))
        return
    names = args.cases.split(",") if args.cases else list(cases_names())
    prepare(names)
    print("| case | file | way in | seconds | CPU seconds | peak RSS (MB) | added (MB) | told |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for name in names:
        file_name = FILE_NAMES[name]
        size = (RESULTS / file_name).stat().st_size
        for way in args.ways.split(","):
            child = subprocess.run(  # noqa: S603
                [sys.executable, __file__, "--child", name, way],
                cwd=ROOT, env={**os.environ, **ENV}, capture_output=True, text=True,
            )  # fmt: skip
            if child.returncode:
                print(f"| {name} | {size:,} B | {way} | failed: {child.stderr[-300:]!r} | | | | |")
                continue
            result = json.loads(child.stdout.strip().splitlines()[-1])
            told = result["said"].replace("|", "/")[:110]
            print(
                f"| {name} | {_size(size)} | {way} | {result['seconds']:.2f} | "
                f"{result['cpu']:.2f} | {result['peak_mb']:.0f} | {result['added_mb']:.0f} | "
                f"{told} |"
            )
    if not args.no_upload:
        result = one_gigabyte_upload()
        milliseconds = result["seconds"] * 1000
        print(
            f"\n1 GB upload to gunicorn: {result['status']} after {milliseconds:.0f} ms "
            f"(64 KB of the body sent); “{result['said'][:120]}”; the worker then answers "
            f"“{result['after']}” at {result['worker_mb']:.0f} MB resident."
        )
    load = os.getloadavg()
    print(f"\nload average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")


FILE_NAMES = {
    "dimension": "declared.xlsx",
    "last-column": "last-column.xlsx",
    "blank-rows": "blank-rows.xlsx",
    "bomb": "bomb.xlsx",
    "bomb-streamed": "bomb-streamed.xlsx",
    "strings-bomb": "strings.xlsx",
    "lying-sizes": "lying.xlsx",
    "laughs": "laughs.xlsx",
    "xxe": "xxe.xlsx",
    "nul-cell": "nul.csv",
    "deep-json": "deep.json",
    "huge-json": "huge.json",
    "long-definition": "long.csv",
    "pdf": "list.csv",
}


def cases_names():
    return tuple(FILE_NAMES)


def _size(size: int) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


if __name__ == "__main__":
    main()
