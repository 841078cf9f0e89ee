"""Reconciling an account against a bank statement, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e


def entry(account: str, kind: str, amount: str, on: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "account_id": account, "amount": amount, "date": on, **fields}


def test_a_matching_statement_confirms_the_transactions_up_to_its_date(client: httpx.Client) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Bank", "currency": "EUR"}).json()["id"]
    salary = client.post(
        "/api/v1/transactions", json=entry(account, "income", "2500.00", "2026-10-01")
    ).json()
    rent = client.post("/api/v1/transactions", json=entry(account, "expense", "900.00", "2026-10-03")).json()
    later = client.post("/api/v1/transactions", json=entry(account, "expense", "50.00", "2026-11-02")).json()

    done = client.post(
        f"/api/v1/accounts/{account}/reconciliations",
        json={"closing_date": "2026-10-31", "closing_balance": "1600.00"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["reconciled"] == 2
    token = {"X-Consistency-Token": done.headers["X-Consistency-Token"]}
    states = {
        t["id"]: t["reconciled"] for t in client.get("/api/v1/transactions", headers=token).json()["items"]
    }
    assert states == {salary["id"]: True, rent["id"]: True, later["id"]: False}
    assert client.get(f"/api/v1/accounts/{account}").json()["reconciled_until"] == "2026-10-31"

    refused = client.delete(f"/api/v1/transactions/{rent['id']}")
    assert refused.status_code == 409  # the bank confirmed it
    assert client.delete(f"/api/v1/transactions/{later['id']}").status_code == 200  # not on the statement


def test_a_mismatch_reports_the_difference_and_the_candidates(client: httpx.Client) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Card", "currency": "EUR"}).json()["id"]
    client.post("/api/v1/transactions", json=entry(account, "income", "100.00", "2026-10-01"))
    pending = client.post(
        "/api/v1/transactions", json=entry(account, "expense", "20.00", "2026-10-05", status="pending")
    ).json()
    mismatch = client.post(
        f"/api/v1/accounts/{account}/reconciliations",
        json={"closing_date": "2026-10-31", "closing_balance": "100.00"},
    )
    assert mismatch.status_code == 409
    problem = mismatch.json()
    assert problem["type"].endswith("/reconciliation-mismatch")
    assert (problem["difference"], problem["ledger_balance"], problem["statement_balance"]) == (
        "20.00",
        "80.00",
        "100.00",
    )
    assert [c["id"] for c in problem["candidates"]] == [pending["id"]]
    listed = client.get("/api/v1/transactions", params={"account_id": account}).json()["items"]
    assert not any(t["reconciled"] for t in listed)  # nothing changed


def test_a_retried_reconciliation_answers_as_the_first(client: httpx.Client) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Retry", "currency": "EUR"}).json()["id"]
    client.post("/api/v1/transactions", json=entry(account, "income", "5.00", "2026-10-01"))
    statement = {"closing_date": "2026-10-31", "closing_balance": "5.00"}
    key = {"Idempotency-Key": f"statement-{account}"}
    first = client.post(f"/api/v1/accounts/{account}/reconciliations", json=statement, headers=key)
    # Meanwhile a late entry dated inside the statement period arrives.
    client.post("/api/v1/transactions", json=entry(account, "income", "1.00", "2026-10-15"))
    again = client.post(f"/api/v1/accounts/{account}/reconciliations", json=statement, headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == again.json()
    assert first.json()["reconciled"] == 1
