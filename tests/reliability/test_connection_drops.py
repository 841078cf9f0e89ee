"""The PostgreSQL connection dropped mid-request (RELIABILITY.md "Fail fast", the issue's
"no partial write and a clear 503"): while clients record transactions and read balances
over HTTP, every connection the server holds is terminated (pg_terminate_backend) again and
again. Every answer is a success or a clear 503 problem (never a 500 or a hang); retried
with the same Idempotency-Key, every command ends recorded exactly once; no transaction is
half-written (each Recorded has its posting, each balance is the sum of its postings)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.conftest import ADMIN_URL
from tests.e2e.users import authenticated, sign_up
from tests.reliability.support import History, Operation, draw_seed, scaled, served, store_counts

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]
WRITERS = 4
PER_WRITER = scaled(60)
DROPS = 12
TOKEN = "X-Consistency-Token"


def terminate(dbname: str) -> int:
    """Terminate every connection to the test's database (the server's pools, projectors,
    workers), from an administrative connection to another database."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        ).fetchall()
    return sum(1 for row in rows if row[0])


def record(client: httpx.Client, operation: Operation, answers: Counter[str], bad: list[str]) -> None:
    key = str(uuid.uuid4())
    body = operation.value | {"kind": "income", "date": "2026-11-02", "description": f"op {operation.id}"}
    for attempt in range(50):
        try:
            response = client.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError as error:  # no answer at all: the outcome is unknown
            answers[f"transport {type(error).__name__}"] += 1
            time.sleep(0.1)
            continue
        answers[str(response.status_code)] += 1
        if response.status_code == 201:
            History.complete(operation, "ok", 201, position=int(response.headers[TOKEN]),
                             transaction=response.json()["id"], attempts=attempt + 1)  # fmt: skip
            return
        if not clear_503(response):
            bad.append(f"{response.status_code} {response.headers.get('content-type')} {response.text[:300]}")
        time.sleep(0.05)
    History.complete(operation, "unknown", None)


def clear_503(response: httpx.Response) -> bool:
    return (
        response.status_code == 503
        and response.headers.get("content-type", "").startswith("application/problem+json")
        and "Retry-After" in response.headers
        and "Traceback" not in response.text
    )


class Load:
    """Writers recording incomes and a reader polling a balance, with what they were answered."""

    def __init__(self, url: str, token: str, accounts: list[str], seed: int) -> None:
        self.url, self.token, self.accounts, self.seed = url, token, accounts, seed
        self.history, self.answers, self.reads, self.bad = (
            History(),
            Counter[str](),
            Counter[str](),
            list[str](),
        )
        self.done = threading.Event()

    def write(self, process: int, rng: random.Random) -> None:
        with authenticated(self.url, self.token) as client:
            for _ in range(PER_WRITER):
                amount = f"{rng.randint(1, 99)}.{rng.randint(0, 99):02d}"
                operation = self.history.invoke(process, "income", account_id=rng.choice(self.accounts),
                                                amount=amount)  # fmt: skip
                record(client, operation, self.answers, self.bad)

    def read(self) -> None:
        with authenticated(self.url, self.token) as client:
            while not self.done.is_set():
                answer = client.get(f"/api/v1/accounts/{self.accounts[0]}")
                self.reads[str(answer.status_code)] += 1
                if answer.status_code != 200 and not clear_503(answer):
                    self.bad.append(f"read {answer.status_code} {answer.text[:300]}")
                time.sleep(0.01)

    def run_while(self, drop: Callable[[], None]) -> None:
        rng = random.Random(self.seed)
        writers = [threading.Thread(target=self.write, args=(n, random.Random(rng.random())))
                   for n in range(WRITERS)]  # fmt: skip
        reader = threading.Thread(target=self.read)
        for thread in [*writers, reader]:
            thread.start()
        drop()
        for thread in writers:
            thread.join()
        self.done.set()
        reader.join()


def test_dropped_connections_give_a_clear_503_and_no_partial_write(tmp_path: Path) -> None:
    seed = draw_seed()
    rng = random.Random(seed)
    terminated: list[int] = []
    with served(tmp_path / "server.log") as server:
        member = sign_up(server.url, "Dropped")
        with member.client as client:
            accounts = [
                client.post("/api/v1/accounts", json={"name": f"A{n}", "currency": "EUR"}).json()["id"]
                for n in range(3)
            ]
            dbname = str(conninfo_to_dict(server.conninfo)["dbname"])

            def drop() -> None:
                for _ in range(DROPS):
                    time.sleep(rng.uniform(0.2, 0.6))
                    terminated.append(terminate(dbname))

            load = Load(server.url, member.access_token, accounts, seed)
            load.run_while(drop)
            load.history.write(tmp_path / "history.jsonl")
            print(f"seed {seed}: {DROPS} drops ended {terminated} connections; commands were answered"
                  f" {dict(load.answers)}, reads {dict(load.reads)}")  # fmt: skip
            accepted = load.history.of("ok")
            head = max(o.position or 0 for o in accepted)
            listed = client.get("/api/v1/accounts", headers={TOKEN: str(head)})
            assert listed.status_code == 200, listed.text
        recorded, postings = store_counts(server.conninfo)

    assert sum(terminated) > 0, "connections were really dropped"
    assert load.history.of("unknown") == [], f"commands never answered (seed {seed})"
    assert load.answers["503"] + load.reads["503"] > 0, "some requests met a dropped connection"
    transactions = Counter(o.result["transaction"] for o in accepted)
    assert len(accepted) == WRITERS * PER_WRITER
    assert max(transactions.values()) == 1, "two commands answered with one transaction"
    assert set(recorded) == set(transactions), f"lost or unexpected transactions (seed {seed})"
    assert set(recorded.values()) == {1}, "a transaction recorded twice"
    assert postings == len(recorded), "a transaction without its posting: a partial write"
    expected = dict.fromkeys(accounts, Decimal(0))
    for operation in accepted:
        expected[operation.value["account_id"]] += Decimal(operation.value["amount"])
    assert {a["id"]: Decimal(a["balance"]) for a in listed.json()} == expected
    assert load.bad == [], f"{len(load.bad)} answers are not a clear 503 (seed {seed}): {load.bad[:3]}"
