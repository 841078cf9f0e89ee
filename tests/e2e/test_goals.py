"""Savings goals over HTTP: progress from balances, projected completion, privacy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server
from tests.e2e.users import Member, join, verify

pytestmark = pytest.mark.e2e
TODAY = "2026-11-30"


def income(client: httpx.Client, account: str, amount: str, on: str) -> Any:
    body = {"kind": "income", "account_id": account, "amount": amount, "date": on, "description": "saving"}
    recorded = client.post("/api/v1/transactions", json=body)
    assert recorded.status_code == 201, recorded.text
    return recorded.json()


def test_progress_and_projection_from_the_linked_balances(client: httpx.Client) -> None:
    savings = client.post("/api/v1/accounts", json={"name": "Savings", "currency": "EUR"}).json()["id"]
    other = client.post("/api/v1/accounts", json={"name": "Pot", "currency": "EUR"}).json()["id"]
    income(client, savings, "500.00", "2026-06-01")  # before the 90-day window: saved, not a rate
    for on in ("2026-09-15", "2026-10-15", "2026-11-15"):
        income(client, savings, "300.00", on)
    last = income(client, other, "100.00", "2026-11-20")
    made = client.post(
        "/api/v1/goals",
        json={"name": "Car", "target": "5000.00", "currency": "EUR", "account_ids": [savings, other],
              "target_date": "2027-12-31"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    goal = client.get(
        f"/api/v1/goals/{made.json()['id']}",
        params={"after": made.json()["consistency_token"], "today": TODAY},
    ).json()
    assert (goal["saved"], goal["remaining"], goal["percent"], goal["achieved"]) == (
        "1500.00",
        "3500.00",
        30.0,
        False,
    )
    assert goal["saving_per_month"] == "333.33"  # 1,000 in 90 days
    assert goal["projected_date"] == "2027-10-11"  # 3,500 at 1,000/90 a day: 315 days
    assert goal["on_track"] is True
    assert goal["needed_per_month"] == "265.15"  # 3,500 over 396 days, per 30 days
    assert last["consistency_token"] <= made.json()["consistency_token"]
    changed = client.put(
        f"/api/v1/goals/{made.json()['id']}", json={"target": "1000.00", "target_date": None}
    )
    assert changed.status_code == 200, changed.text
    done = client.get(
        f"/api/v1/goals/{made.json()['id']}",
        params={"after": changed.json()["consistency_token"], "today": TODAY},
    ).json()
    assert (done["achieved"], done["percent"], done["projected_date"], done["on_track"]) == (
        True,
        100.0,
        None,
        None,
    )
    deleted = client.delete(f"/api/v1/goals/{made.json()['id']}")
    assert deleted.status_code == 200
    assert (
        client.get(
            f"/api/v1/goals/{made.json()['id']}", params={"after": deleted.json()["consistency_token"]}
        ).status_code
        == 404
    )


def test_goals_refuse_bad_accounts_and_hide_private_balances(
    server: Server, signup: Callable[..., Member]
) -> None:
    owner, partner = signup("Owner"), signup("Partner")
    verify(partner)
    shared = join(server.url, owner, partner)
    mine = owner.client.post(
        "/api/v1/accounts", json={"name": "Private", "currency": "EUR", "sharing": "none"}
    ).json()["id"]
    dollars = owner.client.post("/api/v1/accounts", json={"name": "Dollars", "currency": "USD"}).json()["id"]
    base = {"name": "Trip", "target": "900.00", "currency": "EUR"}
    assert owner.client.post("/api/v1/goals", json=base | {"account_ids": [dollars]}).status_code == 422
    assert (
        owner.client.post("/api/v1/goals", json=base | {"account_ids": [partner.user_id]}).status_code == 404
    )
    assert owner.client.post("/api/v1/goals", json=base | {"account_ids": []}).status_code in (400, 422)
    with shared:
        assert shared.post("/api/v1/goals", json=base | {"account_ids": [mine]}).status_code == 404
        made = owner.client.post("/api/v1/goals", json=base | {"account_ids": [mine]})
        assert made.status_code == 201
        token = {"after": made.json()["consistency_token"]}
        assert [g["name"] for g in owner.client.get("/api/v1/goals", params=token).json()] == ["Trip"]
        assert shared.get("/api/v1/goals", params=token).json() == []
        assert shared.get(f"/api/v1/goals/{made.json()['id']}", params=token).status_code == 404
