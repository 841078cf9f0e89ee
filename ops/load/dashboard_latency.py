"""Dashboard latency at 100,000 transactions, until `fiscaflow bench` exists (issue 9).

Creates a fresh database on the local PostgreSQL, serves FiscaFlow on it (projectors off),
registers a user, records N transactions in that household through the command handlers
(bulk appends of 1,000), projects them, adds budgets and a goal, then calls
GET /api/v1/analytics/dashboard sequentially and prints p50/p95/p99 against GET /health
measured the same way in the same run.

    python -m ops.load.dashboard_latency [N] [REQUESTS]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ADMIN = os.environ.get("FISCAFLOW_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
CATEGORIES = [
    "groceries",
    "restaurants",
    "coffee",
    "fuel",
    "rent",
    "utilities",
    "streaming",
    "clothing",
    "travel",
]


def timed(client: httpx.Client, path: str, count: int, **params: str) -> list[float]:
    out = []
    for _ in range(count):
        began = time.perf_counter()
        answer = client.get(path, params=params)
        out.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, answer.text
    return out


def summary(name: str, samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    result = {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "mean": statistics.fmean(samples)}
    print(f"{name:<34} " + "  ".join(f"{k} {v:7.2f} ms" for k, v in result.items()))
    return result


def fill(database: str, household: uuid.UUID, accounts: list[str], count: int) -> tuple[float, float]:
    """Record ``count`` transactions over two years, then project them; the seconds of each."""
    from commands.application import Ledger, event_store_env
    from commands.messages import RecordTransaction
    from commands.transactions import TransactionCommands
    from projections.registry import PROJECTIONS
    from projections.runner import ProjectionRunner

    ledger = Ledger(event_store_env(database, pool_size=2))
    commands = TransactionCommands(ledger)
    rng = random.Random(5)  # noqa: S311 - test data
    began = time.perf_counter()
    today = dt.date.today()
    for start in range(0, count, 1000):
        batch = []
        for n in range(start, min(count, start + 1000)):
            kind = "income" if n % 25 == 0 else "expense"
            batch.append(
                RecordTransaction(
                    kind=kind,
                    account_id=uuid.UUID(rng.choice(accounts)),
                    amount=f"{rng.randint(1, 300)}.{rng.randint(0, 99):02d}",
                    date=today - dt.timedelta(days=rng.randint(0, 730)),
                    description=f"entry {n}",
                    merchant=f"Shop {rng.randint(1, 400)}",
                    category=rng.choice(CATEGORIES) if kind == "expense" else "salary",
                )
            )
        commands.record_many(household, batch)
    recorded = time.perf_counter() - began
    ledger.close()
    began = time.perf_counter()
    for projection in ("accounts", "transactions", "categories", "budgets", "goals"):
        runner = ProjectionRunner(PROJECTIONS[projection], database)
        runner.catch_up()
        runner.close()
    return recorded, time.perf_counter() - began


def main(count: int = 100_000, requests: int = 200) -> None:
    from projections.registry import PROJECTIONS
    from projections.runner import ProjectionRunner

    name = f"fiscaflow_dash_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(ADMIN) | {"dbname": name}
    database = make_conninfo(**params)
    port = 8791
    log = Path(tempfile.gettempdir()) / f"{name}.log"
    env = os.environ | {
        "DATABASE_URL": database,
        "FISCAFLOW_RATE_LIMIT": "0",
        "FISCAFLOW_RUN_PROJECTORS": "false",
        "FISCAFLOW_HOME": tempfile.mkdtemp(),
    }
    server = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "ops", "serve", "--port", str(port)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        user = {
            "email": "dash@example.org",
            "password": "a long and unusual passphrase",
            "display_name": "Dash",
        }
        household = uuid.UUID(httpx.post(f"{base}/api/v1/users/register", json=user).json()["household_id"])
        token = httpx.post(
            f"{base}/api/v1/users/login", json={k: user[k] for k in ("email", "password")}
        ).json()["access_token"]
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        accounts = [
            client.post("/api/v1/accounts", json={"name": f"A{n}", "currency": "EUR"}).json()["id"]
            for n in range(4)
        ]
        recorded, projected = fill(database, household, accounts, count)
        client.post(
            "/api/v1/budgets",
            json={"name": "Food", "categories": ["food"], "limit": "900", "currency": "EUR"},
        )
        client.post(
            "/api/v1/budgets",
            json={"name": "Home", "categories": ["housing"], "limit": "2000", "currency": "EUR"},
        )
        client.post(
            "/api/v1/goals",
            json={"name": "Trip", "target": "90000", "currency": "EUR", "account_ids": accounts[:2]},
        )
        for projection in ("budgets", "goals"):
            runner = ProjectionRunner(PROJECTIONS[projection], database)
            runner.catch_up()
            runner.close()
        print(f"recorded {count} transactions in {recorded:.1f} s, projected in {projected:.1f} s")
        timed(client, "/api/v1/analytics/dashboard", 20)  # warm up
        health = summary("GET /health (baseline)", timed(client, "/health", requests))
        dash = summary(
            "GET /api/v1/analytics/dashboard", timed(client, "/api/v1/analytics/dashboard", requests)
        )
        listing = summary("GET /api/v1/transactions", timed(client, "/api/v1/transactions", requests))
        print(json.dumps({"transactions": count, "health": health, "dashboard": dash, "list": listing}))
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
