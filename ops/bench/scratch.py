"""What the bench starts and always removes: scratch databases on the server it was pointed
at, and FiscaFlow processes (the API, a projector) serving them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.sql import SQL, Identifier

PREFIX = "fiscaflow_bench_"


@contextmanager
def scratch_database(conninfo: str, label: str, created: list[str]) -> Iterator[str]:
    """A new, empty database next to the configured one (which is only used to run CREATE
    and DROP DATABASE); dropped afterwards whatever happens. Its name goes into ``created``."""
    name = f"{PREFIX}{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
    created.append(name)
    try:
        yield make_conninfo(conninfo, dbname=name)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name)))


def existing(conninfo: str, names: list[str]) -> list[str]:
    """Which of these databases still exist."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)).fetchall()
    return [str(row[0]) for row in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_environment(conninfo: str, home: str) -> dict[str, str]:
    """The environment of a FiscaFlow process on a scratch database: this process's own
    (PATH, the configured services) with the scratch database, a throwaway home, no rate
    limit, and no background work (projectors and periodic jobs are measured on their own)."""
    return os.environ | {
        "DATABASE_URL": conninfo,
        "FISCAFLOW_HOME": home,
        "FISCAFLOW_RATE_LIMIT": "0",
        "FISCAFLOW_RUN_PROJECTORS": "false",
        "FISCAFLOW_RUN_WORKERS": "false",
    }


class Child:
    """A `python -m ops ...` process on a scratch database, its output in a log file."""

    def __init__(self, conninfo: str, *args: str) -> None:
        self.home = tempfile.mkdtemp(prefix="fiscaflow-bench-")
        self.log_path = Path(self.home) / "output.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "ops", *args],
            env=child_environment(conninfo, self.home),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM (a clean stop), SIGKILL if it takes longer than 30 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    pid: int  # to measure the server's CPU time
    conninfo: str  # the database it serves


@contextmanager
def api_server(conninfo: str, processes: int = 1) -> Iterator[Served]:
    """`fiscaflow serve` on a free port of the loopback, once it answers /health."""
    import httpx

    port = free_port()
    child = Child(conninfo, "serve", "--port", str(port), "--processes", str(processes))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if child.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start:\n{child.output()}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Served(url, child.pid, conninfo)
    finally:
        child.stop()
