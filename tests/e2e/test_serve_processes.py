"""`fiscaflow serve --processes N`: several API processes on one port, sharing what must be
shared (the development JWT secret, the token deny-list in Redis), with the projectors
running once, in the supervising process."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]
import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server, empty_redis
from tests.e2e.users import sign_up

pytestmark = pytest.mark.e2e
REDIS_URL = os.environ.get("FISCAFLOW_TEST_REDIS_URL_PROCESSES", "redis://127.0.0.1:6379/6")
TOKEN = "X-Consistency-Token"


@pytest.fixture
def redis_db() -> Iterator[str]:
    with empty_redis(REDIS_URL):
        yield REDIS_URL


def cpu(process: psutil.Process) -> float:
    return float(sum(process.cpu_times()[:2]))


def api_processes(supervisor: psutil.Process) -> list[psutil.Process]:
    """The live API processes (a killed one is a zombie until the supervisor reaps it)."""
    found = []
    for child in supervisor.children(recursive=True):
        try:
            if "ops.serving" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            continue
    return found


def fresh(url: str, token: str, method: str, path: str, **kwargs: object) -> httpx.Response:
    """A request on a new connection: the kernel hands it to any of the API processes."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        return client.request(method, path, **kwargs)  # type: ignore[arg-type]


def test_more_than_one_process_needs_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
        "FISCAFLOW_HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ops", "serve", "--processes", "2"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "needs REDIS_URL" in " ".join(done.stderr.split()), done.stderr


def test_two_api_processes_share_tokens_and_revocations(redis_db: str, tmp_path: Path) -> None:
    conninfo = create_database()
    # No FISCAFLOW_JWT_SECRET: the development secret must reach both processes.
    env = {"DATABASE_URL": conninfo, "REDIS_URL": redis_db, "FISCAFLOW_MODE": "development",
           "FISCAFLOW_HOME": str(tmp_path / "home"), "FISCAFLOW_RATE_LIMIT": "100000"}  # fmt: skip
    workers: list[psutil.Process] = []
    try:
        server = Server(env, tmp_path / "server.log", "--processes", "2", unset=("FISCAFLOW_JWT_SECRET",))
        try:
            supervisor = psutil.Process(server.process.pid)
            workers += api_processes(supervisor)
            assert len(workers) == 2, [p.cmdline() for p in supervisor.children(recursive=True)]

            member = sign_up(server.url)
            token = member.access_token
            opened = fresh(
                server.url, token, "POST", "/api/v1/accounts", json={"name": "Checking", "currency": "EUR"}
            )
            assert opened.status_code == 201, opened.text
            account = opened.json()["id"]
            before = [cpu(w) for w in workers]
            body = {"kind": "income", "account_id": account, "amount": "1.00",
                    "date": dt.date.today().isoformat(), "description": "salary"}  # fmt: skip
            recorded = 0
            # Each command on a new connection, until both processes have served some (bounded).
            while recorded < 200 and (
                recorded < 20 or min(cpu(w) - b for w, b in zip(workers, before, strict=True)) < 0.05
            ):
                answer = fresh(server.url, token, "POST", "/api/v1/transactions", json=body)
                assert answer.status_code == 201, answer.text  # the token is good in either process
                recorded += 1
            busy = [round(cpu(w) - b, 2) for w, b in zip(workers, before, strict=True)]
            assert min(busy) >= 0.05, f"one process served nothing in {recorded} commands: {busy}"

            # The projectors run once, in the supervisor: the read model catches up.
            seen = fresh(server.url, token, "GET", f"/api/v1/accounts/{account}",
                         params={"after": answer.headers[TOKEN]})  # fmt: skip
            assert seen.status_code == 200 and seen.json()["balance"] == f"{recorded}.00", seen.text

            # An API process killed is replaced; the server keeps answering meanwhile.
            workers[0].kill()
            deadline = time.monotonic() + 60
            while not (replaced := [p for p in api_processes(supervisor) if p.pid != workers[1].pid]):
                assert time.monotonic() < deadline, "the killed API process was not replaced"
                assert fresh(server.url, token, "GET", "/api/v1/accounts").status_code == 200
                time.sleep(0.2)
            workers += replaced
            server.wait_ready()
            assert fresh(server.url, token, "GET", "/api/v1/accounts").status_code == 200

            # A logout in one process is a logout in every one.
            assert fresh(server.url, token, "POST", "/api/v1/users/logout", json={}).status_code == 200
            refused = [fresh(server.url, token, "GET", "/api/v1/accounts").status_code for _ in range(20)]
            assert refused == [401] * 20
        finally:
            assert server.stop() == 0
            assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    finally:
        drop_database(conninfo)


def test_a_taken_port_stops_the_server_with_an_error(redis_db: str, tmp_path: Path) -> None:
    conninfo = create_database()
    try:
        with socket.socket() as taken:  # no SO_REUSEPORT: the API processes cannot bind
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            env = os.environ | {
                "DATABASE_URL": conninfo,
                "REDIS_URL": redis_db,
                "FISCAFLOW_HOME": str(tmp_path),
                "FISCAFLOW_RUN_PROJECTORS": "false",
                "FISCAFLOW_RUN_WORKERS": "false",
            }
            done = subprocess.run(
                [sys.executable, "-m", "ops", "serve", "--port", str(port), "--processes", "2"],
                env=env, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
    finally:
        drop_database(conninfo)
    assert done.returncode != 0
    assert "Address already in use" in done.stderr + done.stdout
