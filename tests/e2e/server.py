"""Runs `fiscaflow serve` as a real process on a free loopback port, for e2e tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

from tests.conftest import create_database, drop_database, service_missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A `fiscaflow serve` process; stop() sends SIGTERM and waits for a clean exit."""

    def __init__(self, env: dict[str, str], log: Path, *args: str, unset: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.conninfo = env.get("DATABASE_URL", "")
        drop = {"DATABASE_URL", *unset}
        environment = {k: v for k, v in os.environ.items() if k not in drop} | env
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ops", "serve", "--port", str(self.port), *args],
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            self.started_in = self.wait_ready()
        except BaseException:
            self.process.kill()
            self.process.wait()
            self.log.close()
            raise

    def wait_ready(self, timeout: float = 60.0) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.log_path.read_text()}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.log.close()


@contextmanager
def served(env: dict[str, str], log: Path, unset: tuple[str, ...] = ()) -> Iterator[Server]:
    """A server on a fresh database of its own (DATABASE_URL), stopped and dropped after."""
    conninfo = create_database()
    running = Server({"DATABASE_URL": conninfo, **env}, log, unset=unset)
    try:
        yield running
    finally:
        running.stop()
        drop_database(conninfo)


@contextmanager
def empty_redis(url: str) -> Iterator[redis.Redis]:
    """A client of the real Redis on our own database index, emptied before and after."""
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError as error:
        service_missing(f"Redis at {url} is not reachable: {error}")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()
