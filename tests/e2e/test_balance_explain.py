"""Explain a balance: the postings that add up to it at a date, each with its cause."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.users import Member

pytestmark = pytest.mark.e2e


def post(client: httpx.Client, body: dict[str, Any]) -> int:
    answer = client.post("/api/v1/transactions", json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["consistency_token"])


def test_the_postings_that_make_a_balance_with_their_causes(client: httpx.Client, signup: Any) -> None:
    main = client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()["id"]
    spare = client.post("/api/v1/accounts", json={"name": "Spare", "currency": "EUR"}).json()["id"]
    post(client, {"kind": "income", "account_id": main, "amount": "100.00", "date": "2026-11-01"})
    imported = client.post(
        "/api/v1/transactions/import", params={"account_id": main},
        content=b"date,amount,description\n2026-11-02,-20.00,SHOP\n",
    )  # fmt: skip
    assert imported.status_code == 201, imported.text
    transfer = {"kind": "transfer", "account_id": main, "to_account_id": spare, "amount": "30.00"}
    post(client, {**transfer, "date": "2026-11-03"})
    last = post(client, {"kind": "expense", "account_id": main, "amount": "5.00", "date": "2026-11-10"})
    cancelled = post(client, {"kind": "expense", "account_id": main, "amount": "7.00", "date": "2026-11-04"})
    listed = client.get("/api/v1/transactions", params={"account_id": main, "after": cancelled}).json()[
        "items"
    ]
    seven = next(t["id"] for t in listed if t["amount"] == "7.00")
    gone = client.delete(f"/api/v1/transactions/{seven}", params={"reason": "typo"})
    token = max(last, gone.json()["consistency_token"])

    explained = client.get(
        f"/api/v1/accounts/{main}/balance/explain", params={"at": "2026-11-05", "after": token}
    )
    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert [(p["date"], p["amount"], p["cause"]) for p in body["postings"]] == [
        ("2026-11-01", "100.00", "manual"),
        ("2026-11-02", "-20.00", "import"),
        ("2026-11-03", "-30.00", "transfer"),
    ]
    assert body["balance"] == "50.00" == str(sum(Decimal(p["amount"]) for p in body["postings"]))
    assert body["postings"][1]["import_batch_id"] == imported.json()["batch_id"]
    whole = client.get(f"/api/v1/accounts/{main}/balance/explain", params={"limit": 2}).json()
    assert (whole["balance"], whole["truncated"], len(whole["postings"])) == ("45.00", True, 2)
    stranger: Member = signup("Stranger")
    assert stranger.client.get(f"/api/v1/accounts/{main}/balance/explain").status_code == 404
