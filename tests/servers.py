"""Real processes for tests: app servers (``make serve``, gunicorn, runserver) and workers.

Each process gets an environment built from scratch for the database the test names, a port
from this project's range that is free now, and is stopped (its whole process group) at the
end. Waiting is bounded by generous timeouts: the machine may be shared and slow.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PORTS = range(8100, 8200)
START_TIMEOUT = 240  # seconds; migrate + collectstatic on a loaded 2-core machine
SECRET = "test-" + "p9#Lq!x2@Mv7$Ws4%Zt8^Kb1&Hd6*Jn3(Rf5)Yc0" * 2
# Variables of the test run that must not leak into a server's environment.
_UNSET = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "PYTEST_CURRENT_TEST"}


def free_port() -> int:
    """A port of this project's range that is free now (in random order: someone may be
    starting a server on the first free one right now)."""
    for port in random.sample(PORTS, len(PORTS)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free port in {PORTS.start}-{PORTS.stop - 1}.")


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database that ``settings_dict`` (a connection's) points at."""
    engine, name = settings_dict["ENGINE"], str(settings_dict["NAME"])
    if engine.endswith("sqlite3"):
        return f"sqlite:///{name}"
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{name}"


def environment(*, database: str, debug: bool = False, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _UNSET}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "airm_site.settings",
            "DATABASE_URL": database,
            "DEBUG": "1" if debug else "0",
            "SECRET_KEY": SECRET,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Process:
    """A started process group, its output collected in a file."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT):
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115  (closed in stop())
        self.popen = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")

    def running(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group: no clean-up of any kind runs."""
        if self.running():
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=60)

    def stop(self, timeout: float = 60) -> None:
        if self.running():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=60)
        self._out.close()


def get(url: str, *, headers: dict | None = None, timeout: float = 60):
    """``(status, headers, body bytes)`` of a GET, whatever the status; no redirects followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310  (loopback only)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_for(url: str, process: Process, *, timeout: float = START_TIMEOUT, headers=None):
    """Wait until ``url`` answers at all (any status); fail with the process's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.running():
            raise AssertionError(f"The process ended early:\n{process.output()[-5000:]}")
        try:
            return get(url, headers=headers, timeout=10)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout} s:\n{process.output()[-5000:]}")


def start_listening(command_for, *, env: dict[str, str], log: Path, timeout=START_TIMEOUT):
    """Start ``command_for(port)`` (a server that logs gunicorn's "Listening at:") on a free
    port of the range; if another process took the port meanwhile, try another. Returns
    ``(process, port)`` once this very process listens."""
    for _ in range(5):
        port = free_port()
        process = Process(command_for(port), env={**env, "PORT": str(port)}, log=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = process.output()
            if f"Listening at: http://127.0.0.1:{port}" in output:
                return process, port
            if not process.running():
                break
            time.sleep(0.3)
        process.stop()
        if "in use" not in output:
            raise AssertionError(f"The server did not start:\n{output[-5000:]}")
    raise AssertionError("No free port for the server after five tries.")


GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:airm_site.gunicorn_conf"]


def collect_static(static_root: Path, env: dict[str, str]) -> None:
    """``collectstatic`` into ``static_root``, as ``make serve`` does before gunicorn starts."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env={**env, "STATIC_ROOT": str(static_root)},
        check=True,
        timeout=START_TIMEOUT,
    )


def json_of(body: bytes) -> dict:
    return json.loads(body.decode())


@contextmanager
def running(args: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT):
    process = Process(args, env=env, log=log, cwd=cwd)
    try:
        yield process
    finally:
        process.stop()
