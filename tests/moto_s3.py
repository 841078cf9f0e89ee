"""An S3-compatible server for tests: moto's server mode, started on loopback."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.conftest import service_missing
from tests.e2e.server import free_port

ACCESS_KEY = "fiscaflow-test-access"
SECRET_KEY = "fiscaflow-test-secret-key-0123456789"


@contextmanager
def moto_server() -> Iterator[str]:
    """The endpoint URL of a fresh moto S3 server, stopped afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    service_missing("moto's S3 server (moto[server], a test dependency) did not start")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
