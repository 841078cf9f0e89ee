"""Fail fast over HTTP (RELIABILITY.md "Write path and event store"): with the events table
locked by another database connection, concurrent commands (stored together by group
commit) answer 503 problem+json with Retry-After within the lock timeout plus a second,
nothing is half-written, and the server takes commands again once the lock is gone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import Member, authenticated, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]
LOCK_TIMEOUT = 1
CLIENTS = 4


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, Member, str]]:
    conninfo = create_database()
    env = {"DATABASE_URL": conninfo, "FISCAFLOW_LOCK_TIMEOUT": str(LOCK_TIMEOUT), "FISCAFLOW_RATE_LIMIT": "0"}
    server = Server(env, tmp_path / "server.log")
    try:
        member = sign_up(server.url)
        with member.client:
            account = member.client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"})
            assert account.status_code == 201, account.text
            yield server, member, str(account.json()["id"])
    finally:
        assert server.stop() == 0
        drop_database(conninfo)


def events(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM eventstore.fiscaflow_events").fetchone()
    assert row is not None
    return int(row[0])


def test_commands_against_a_locked_events_table_answer_503_fast_and_write_nothing(
    served: tuple[Server, Member, str],
) -> None:
    server, member, account = served
    income = {"kind": "income", "account_id": account, "amount": "1.00", "date": "2026-11-02"}
    before = events(server.conninfo)
    answers: list[tuple[httpx.Response, float]] = []
    start = threading.Barrier(CLIENTS)

    def command() -> None:
        with authenticated(server.url, member.access_token) as client:
            start.wait()
            began = time.monotonic()
            answer = client.post("/api/v1/transactions", json=income)
            answers.append((answer, time.monotonic() - began))

    with psycopg.connect(server.conninfo) as blocker:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE eventstore.fiscaflow_events IN EXCLUSIVE MODE")
        threads = [threading.Thread(target=command) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        blocker.execute("ROLLBACK")

    assert len(answers) == CLIENTS
    for answer, elapsed in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"].endswith("/store-unavailable")
        assert int(answer.headers["Retry-After"]) >= 1
        assert elapsed < LOCK_TIMEOUT + 1, f"answered after {elapsed:.2f} s"
    assert events(server.conninfo) == before, "nothing half-written"
    again = member.client.post("/api/v1/transactions", json=income)
    assert again.status_code == 201, again.text
    assert events(server.conninfo) == before + 2  # the transaction and its posting
