"""Recording many transactions in one command: all or nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e


def entry(account: str, kind: str, amount: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "account_id": account, "amount": amount, "date": "2026-11-01", **fields}


def test_a_bulk_is_recorded_whole_in_order(client: httpx.Client) -> None:
    wallet = client.post(
        "/api/v1/accounts", json={"name": "Wallet", "currency": "EUR", "minimum_balance": "0"}
    )
    account = wallet.json()["id"]
    items = [entry(account, "income", "100.00", description="pay")] + [
        entry(account, "expense", "30.00", description=f"spend {n}") for n in range(3)
    ]
    recorded = client.post("/api/v1/transactions/bulk", json={"transactions": items})
    assert recorded.status_code == 201, recorded.text
    ids = recorded.json()["ids"]
    assert len(ids) == 4
    token = {"X-Consistency-Token": str(recorded.json()["consistency_token"])}
    assert client.get(f"/api/v1/accounts/{account}", headers=token).json()["balance"] == "10.00"
    for transaction_id, item in zip(ids, items, strict=True):
        assert (
            client.get(f"/api/v1/transactions/{transaction_id}").json()["description"] == item["description"]
        )


def test_one_refused_item_refuses_the_whole_bulk(client: httpx.Client) -> None:
    wallet = client.post(
        "/api/v1/accounts", json={"name": "Tight", "currency": "EUR", "minimum_balance": "0"}
    )
    account = wallet.json()["id"]
    items = [
        entry(account, "income", "50.00"),
        entry(account, "expense", "30.00"),
        entry(account, "expense", "30.00"),
    ]
    refused = client.post("/api/v1/transactions/bulk", json={"transactions": items})
    assert refused.status_code == 409
    assert refused.json()["item"] == 2  # the second expense would go below zero
    assert client.get("/api/v1/transactions", params={"account_id": account}).json()["items"] == []
    assert client.get(f"/api/v1/accounts/{account}").json()["balance"] == "0.00"


def test_a_bulk_is_idempotent_and_bounded(client: httpx.Client) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Bulk", "currency": "EUR"}).json()["id"]
    body = {"transactions": [entry(account, "income", "1.00"), entry(account, "income", "2.00")]}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/api/v1/transactions/bulk", json=body, headers=key)
    again = client.post("/api/v1/transactions/bulk", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert client.post("/api/v1/transactions/bulk", json={"transactions": []}).status_code == 422
    too_many = {"transactions": [entry(account, "income", "1.00")] * 1001}
    assert client.post("/api/v1/transactions/bulk", json=too_many).status_code in (413, 422)
