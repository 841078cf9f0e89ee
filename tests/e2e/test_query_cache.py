"""Cached query answers in the real Redis (and in the memory store of a server without
Redis): keyed by tenant, caller and read-model positions, so a repeated query is answered
from the cache and a query with a newer consistency token never sees an older answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from tests.e2e.server import Server, served
from tests.e2e.test_redis_store import REDIS_URL, SECRET, redis_client  # noqa: F401 - a fixture
from tests.e2e.users import sign_up

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(redis_client: redis.Redis, tmp_path: Path) -> Iterator[Server]:  # noqa: F811
    env = {"REDIS_URL": REDIS_URL, "FISCAFLOW_JWT_SECRET": SECRET, "FISCAFLOW_RATE_LIMIT": "0"}
    with served(env, tmp_path / "server.log") as running:
        yield running


def cached_keys(client: redis.Redis) -> set[bytes]:
    return {k for k in client.keys("*") if b"cache" in k}


def income(client: httpx.Client, account: str, amount: str) -> int:
    body = {
        "kind": "income",
        "account_id": account,
        "amount": amount,
        "date": "2026-11-02",
        "description": "pay",
    }
    answer = client.post("/api/v1/transactions", json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["consistency_token"])


def dashboard(client: httpx.Client, token: int) -> dict[str, Any]:
    answer = client.get("/api/v1/analytics/dashboard", params={"after": token, "today": "2026-11-30"})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


@pytest.mark.reliability
def test_answers_are_cached_per_tenant_and_never_older_than_the_token(
    server: Server,
    redis_client: redis.Redis,  # noqa: F811
) -> None:
    ana, bo = sign_up(server.url, "Ana"), sign_up(server.url, "Bo")
    with ana.client, bo.client:
        account = ana.client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()["id"]
        first = income(ana.client, account, "10.00")
        seen = dashboard(ana.client, first)
        assert [t["amount"] for t in seen["recent"]] == ["10.00"]
        assert len(cached_keys(redis_client)) == 1
        assert dashboard(ana.client, first) == seen  # the same positions: the cached answer
        assert len(cached_keys(redis_client)) == 1
        second = income(ana.client, account, "20.00")
        newer = dashboard(ana.client, second)  # the read model moved: a new key, a new answer
        assert [t["amount"] for t in newer["recent"]] == ["20.00", "10.00"]
        assert newer["accounts"][0]["balance"] == "30.00"
        assert len(cached_keys(redis_client)) == 2
        other = dashboard(bo.client, second)  # another household: its own answer and key
        assert other["recent"] == [] and other["accounts"] == []
        assert len(cached_keys(redis_client)) == 3
        spending = ana.client.get("/api/v1/analytics/spending", params={"kind": "income", "after": second,
                                  "date_from": "2026-11-01", "date_to": "2026-11-30"})  # fmt: skip
        assert spending.status_code == 200 and spending.json()["total"] == "30.00", spending.text


@pytest.fixture
def memory_server(tmp_path: Path) -> Iterator[Server]:
    env = {"FISCAFLOW_MODE": "development", "FISCAFLOW_RATE_LIMIT": "0"}
    with served(env, tmp_path / "server.log", unset=("REDIS_URL",)) as running:  # the memory store
        yield running


def test_without_redis_the_memory_store_caches_by_tenant_and_position(memory_server: Server) -> None:
    """The cache is invisible from outside but for what it answers: a change made behind the
    read model's back (no new position) is not seen while the cached answer serves, and is
    seen as soon as a write moves the position."""
    ana, bo = sign_up(memory_server.url, "Ana"), sign_up(memory_server.url, "Bo")
    with ana.client, bo.client:
        account = ana.client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()["id"]
        first = income(ana.client, account, "10.00")
        assert dashboard(ana.client, first)["accounts"][0]["balance"] == "10.00"
        with psycopg.connect(memory_server.conninfo, autocommit=True) as conn:  # behind its back
            conn.execute("UPDATE read_accounts.accounts SET balance = 999 WHERE account_id = %s", (account,))
        assert dashboard(ana.client, first)["accounts"][0]["balance"] == "10.00"  # cached
        assert dashboard(bo.client, first)["accounts"] == []  # another tenant: not Ana's answer
        second = income(ana.client, account, "20.00")  # the position moves: computed again
        assert dashboard(ana.client, second)["accounts"][0]["balance"] == "1019.00"
