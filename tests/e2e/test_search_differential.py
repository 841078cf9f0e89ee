"""Differential queries over HTTP: 500 random combinations of the list's filters and
search words over 2,000 transactions answer exactly what a Python oracle computes from
the full list, page after page, with no overlap and no hole. The same runs against the
Elasticsearch backend where ELASTICSEARCH_URL is set."""

from __future__ import annotations

import datetime as dt
import math
import os
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from queries.search_terms import document_words, search_terms
from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]
WORDS = ["coffee", "cocoa", "coach", "london", "lonely", "market", "mart", "rent", "rental", "fuel",
         "fuji", "books", "bookshop", "gym", "gift", "tax", "taxi", "water", "wages", "2026",
         "42"]  # fmt: skip
CATEGORIES = ["groceries", "coffee", "transport", "rent", "gifts"]


def backends() -> list[str]:
    return ["postgres", "elasticsearch"] if os.environ.get("ELASTICSEARCH_URL") else ["postgres"]


@pytest.fixture(scope="module", params=backends())
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    conninfo = create_database()
    env = {
        "DATABASE_URL": conninfo,
        "FISCAFLOW_RATE_LIMIT": "0",
        "FISCAFLOW_HOME": str(tmp_path_factory.mktemp("h")),
    }
    if request.param == "elasticsearch":
        env["ELASTICSEARCH_URL"] = os.environ["ELASTICSEARCH_URL"]
    server = Server(env, Path(tmp_path_factory.mktemp("log")) / "server.log")
    member = sign_up(server.url)
    try:
        yield {"client": member.client, **fill(member.client, random.Random(2000))}
    finally:
        member.client.close()
        server.stop()
        drop_database(conninfo)


def text(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def fill(client: httpx.Client, rng: random.Random) -> dict[str, Any]:
    accounts = [
        client.post("/api/v1/accounts", json={"name": f"A{n}", "currency": "EUR"}).json()["id"]
        for n in range(3)
    ]
    token = 0
    for _ in range(2):
        items = []
        for _ in range(1000):
            kind = rng.choice(["expense", "expense", "income", "transfer"])
            item = {
                "kind": kind, "account_id": rng.choice(accounts),
                "amount": f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}",
                "date": (dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(330))).isoformat(),
                "description": text(rng, rng.randint(1, 3)),
                "status": rng.choice(["posted", "posted", "pending"]),
            }  # fmt: skip
            if kind == "transfer":
                item["to_account_id"] = rng.choice([a for a in accounts if a != item["account_id"]])
            else:
                item["category"] = rng.choice(CATEGORIES)
                if rng.random() < 0.5:
                    item["merchant"] = text(rng, 1)
                if rng.random() < 0.2:
                    item["notes"] = text(rng, 2)
            items.append(item)
        answer = client.post("/api/v1/transactions/bulk", json={"transactions": items})
        assert answer.status_code == 201, answer.text
        token = answer.json()["consistency_token"]
    every = pages(client, {"after": token, "limit": 500})
    for row in rng.sample(every, 60):
        cancelled = client.delete(f"/api/v1/transactions/{row['id']}", params={"reason": "test"})
        assert cancelled.status_code == 200, cancelled.text
        token = max(token, cancelled.json()["consistency_token"])
    return {"accounts": accounts, "token": token, "rows": pages(client, {"after": token, "limit": 500})}


def pages(client: httpx.Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        answer = get(client, {**params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, (params, answer.text)
        found += answer.json()["items"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return found


def get(client: httpx.Client, params: dict[str, Any]) -> httpx.Response:
    """The list; a 503 (the read model still catching up with the token) is retried."""
    for _ in range(60):
        answer = client.get("/api/v1/transactions", params=params)
        if answer.status_code != 503:
            return answer
    return answer


def matches(row: dict[str, Any], f: dict[str, Any]) -> bool:
    amount = Decimal(row["amount"])
    checks = [
        "account_id" not in f or f["account_id"] in (row["account_id"], row["to_account_id"]),
        "date_from" not in f or row["date"] >= f["date_from"],
        "date_to" not in f or row["date"] <= f["date_to"],
        "category" not in f or (row["category"] or "").lower() == f["category"].lower(),
        "status" not in f or row["status"] == f["status"],
        "kind" not in f or row["kind"] == f["kind"],
        "min_amount" not in f or amount >= Decimal(f["min_amount"]),
        "max_amount" not in f or amount <= Decimal(f["max_amount"]),
    ]
    if "q" in f:
        words = document_words(row["description"], row["merchant"], row["notes"], row["category"])
        checks.append(all(any(w.startswith(t) for w in words) for t in search_terms(f["q"])))
    return all(checks)


def combination(rng: random.Random, accounts: list[str]) -> dict[str, Any]:
    day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(330))
    words = " ".join(rng.choice(WORDS)[: rng.randint(1, 6)] for _ in range(rng.randint(1, 2)))
    options = {
        "account_id": rng.choice(accounts),
        "date_from": day.isoformat(),
        "date_to": (day + dt.timedelta(days=rng.randrange(120))).isoformat(),
        "category": rng.choice(CATEGORIES).upper(),
        "status": rng.choice(["posted", "pending", "cancelled"]),
        "kind": rng.choice(["expense", "income", "transfer"]),
        "min_amount": str(rng.randint(0, 300)),
        "max_amount": f"{rng.randint(100, 500)}.50",
        "q": words if rng.random() < 0.9 else "zzz",
    }
    return {name: options[name] for name in rng.sample(sorted(options), rng.randint(1, 4))}


def test_random_filters_and_searches_equal_the_oracle_page_by_page(world: dict[str, Any]) -> None:
    rng = random.Random(int(os.environ.get("FISCAFLOW_TEST_SEED", "500")))
    rows = world["rows"]
    assert len(rows) == 2000
    order = sorted(rows, key=lambda r: (r["date"], r["recorded_at"], r["id"]), reverse=True)
    assert [r["id"] for r in rows] == [r["id"] for r in order]  # the list's own order
    searched = 0
    for n in range(500):
        f = combination(rng, world["accounts"])
        expected = [r["id"] for r in order if matches(r, f)]
        limit = max(rng.choice([3, 10, 40, 200]), math.ceil(len(expected) / 15))
        got = [r["id"] for r in pages(world["client"], {**f, "limit": limit})]
        assert got == expected, (n, f, len(got), len(expected))
        assert len(set(got)) == len(got)
        searched += "q" in f
    assert searched > 100


def test_relevance_orders_the_same_matches(world: dict[str, Any]) -> None:
    f = {"q": "coff", "kind": "expense"}
    by_date = {r["id"] for r in pages(world["client"], {**f, "limit": 50})}
    ranked = pages(world["client"], {**f, "limit": 7, "order": "relevance"})
    assert {r["id"] for r in ranked} == by_date and len(ranked) == len(by_date) > 0
    bad = world["client"].get("/api/v1/transactions", params={"order": "relevance"})
    assert bad.status_code == 422
