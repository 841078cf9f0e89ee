"""Unknown outcome over HTTP (RELIABILITY.md "Write path and event store"): the API worker is
killed with SIGKILL after its append was committed and before it answered; the client's
retry with the same Idempotency-Key, to a new worker, answers the committed transaction:
0 lost, 0 duplicated.

The worker reaches PostgreSQL through a loopback proxy (tests/pg_proxy.py) that lets the
append through but never passes its result back, so the worker waits between COMMIT and its
answer for as long as the test needs: the test sees the commit with its own connection, then
kills the worker."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import authenticated, login, sign_up
from tests.pg_proxy import HoldingProxy
from tests.reliability.support import store_counts

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]
SECRET = "unknown-outcome-test-secret-of-32-characters-or-more"  # the same across both workers


@pytest.fixture
def database() -> Iterator[str]:
    conninfo = create_database()
    yield conninfo
    drop_database(conninfo)


def committed_by(conninfo: str, key: str) -> Any:
    """The transaction the key's append created, or None."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT subject_id FROM eventstore.idempotency_keys WHERE key = %s", (key,)
        ).fetchone()
    return str(row[0]) if row else None


def test_a_worker_killed_between_commit_and_answer_then_a_retry_records_once(
    database: str, tmp_path: Path
) -> None:
    env = {"FISCAFLOW_JWT_SECRET": SECRET, "FISCAFLOW_RATE_LIMIT": "0"}
    proxy = HoldingProxy(database)
    worker = Server(env | {"DATABASE_URL": proxy.conninfo()}, tmp_path / "worker.log")
    try:
        member = sign_up(worker.url)
        with member.client:
            opened = member.client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"})
            assert opened.status_code == 201, opened.text
        account = opened.json()["id"]
        assert store_counts(database) == ({}, 0)  # no transaction yet
        proxy.arm()

        key = str(uuid.uuid4())
        body = {"kind": "income", "account_id": account, "amount": "25.00", "date": "2026-11-02"}
        answers: list[Any] = []

        def send() -> None:
            with authenticated(worker.url, member.access_token) as client:
                try:
                    answers.append(
                        client.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
                    )
                except httpx.TransportError as error:
                    answers.append(error)

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + 30
        while committed_by(database, key) is None:  # committed, seen from outside
            assert time.monotonic() < deadline, "the append was not committed in 30 s"
            time.sleep(0.02)
        assert proxy.held(), "the worker is waiting for the append's answer"
        assert answers == [], "the client has no answer yet"
        worker.process.send_signal(signal.SIGKILL)
        assert worker.process.wait(timeout=10) == -signal.SIGKILL
        sender.join(timeout=30)
        assert len(answers) == 1 and isinstance(answers[0], httpx.TransportError), answers
    finally:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()
        worker.log.close()
        proxy.close()

    committed = committed_by(database, key)
    assert store_counts(database) == ({committed: 1}, 1)  # the transaction and its posting, once
    retry_worker = Server(env | {"DATABASE_URL": database}, tmp_path / "retry.log")
    try:
        tokens = login(retry_worker.url, member.email).json()
        with authenticated(retry_worker.url, tokens["access_token"]) as client:
            retried = client.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
            assert retried.status_code == 201, retried.text
            assert retried.json()["id"] == committed, "the retry answers the committed transaction"
            after = {"X-Consistency-Token": retried.headers["X-Consistency-Token"]}
            balance = client.get(f"/api/v1/accounts/{account}", headers=after)
            assert balance.json()["balance"] == "25.00", balance.text
    finally:
        assert retry_worker.stop() == 0
    assert store_counts(database) == ({committed: 1}, 1), "0 lost, 0 duplicated"
