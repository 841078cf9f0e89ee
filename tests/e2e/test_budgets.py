"""Budgets over HTTP: budget vs actual for the current period, groups, rollover, private
budgets, renamed categories, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.server import Server
from tests.e2e.users import Member, join, verify

pytestmark = pytest.mark.e2e
ON = "2026-11-15"


def spend(
    client: httpx.Client, account: str, amount: str, category: str, on: str = "2026-11-10", **more: Any
) -> Any:
    body = {
        "kind": "expense",
        "account_id": account,
        "amount": amount,
        "date": on,
        "category": category,
    } | more
    recorded = client.post("/api/v1/transactions", json=body)
    assert recorded.status_code == 201, recorded.text
    return recorded.json()


def budgets(client: httpx.Client, token: int, **params: Any) -> dict[str, Any]:
    listed = client.get("/api/v1/budgets", params={"after": token, "on": ON} | params)
    assert listed.status_code == 200, listed.text
    return {b["name"]: b for b in listed.json()}


def test_budget_vs_actual_for_the_period(client: httpx.Client) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Budgeted", "currency": "EUR"}).json()["id"]
    food = client.post(
        "/api/v1/budgets",
        json={
            "name": "Food",
            "categories": ["food"],
            "limit": "400.00",
            "currency": "EUR",
            "thresholds": [50, 90],
        },
    )
    assert food.status_code == 201, food.text
    spend(client, account, "120.00", "groceries")  # a subcategory of the food group
    spend(client, account, "90.00", "restaurants")
    spend(client, account, "30.00", "fuel")  # another group
    spend(client, account, "500.00", "groceries", on="2026-10-31")  # last month
    cancelled = spend(client, account, "1000.00", "coffee")
    gone = client.delete(f"/api/v1/transactions/{cancelled['id']}")
    held = spend(client, account, "15.00", "takeaway", status="pending")  # a hold counts
    assert gone.status_code == 200
    seen = budgets(client, held["consistency_token"])["Food"]
    assert seen["covers"][:3] == ["coffee", "food", "groceries"]
    current = seen["current"]
    assert (current["start"], current["end"]) == ("2026-11-01", "2026-11-30")
    assert (current["spent"], current["available"], current["remaining"]) == ("225.00", "400.00", "175.00")
    assert (current["percent"], current["thresholds_reached"]) == (56.25, [50])
    october = client.get(f"/api/v1/budgets/{food.json()['id']}", params={"on": "2026-10-05"}).json()[
        "current"
    ]
    assert (october["spent"], october["percent"], october["thresholds_reached"]) == (
        "500.00",
        125.0,
        [50, 90],
    )


def test_rollover_weekly_and_yearly_periods(client: httpx.Client) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Periods", "currency": "EUR"}).json()["id"]
    for body in (
        {"name": "Fun", "categories": ["leisure"], "limit": "100.00", "rollover": True},
        {"name": "Week", "categories": ["coffee"], "limit": "20.00", "period": "weekly"},
        {"name": "Year", "categories": ["travel"], "limit": "2000.00", "period": "yearly"},
    ):
        assert client.post("/api/v1/budgets", json=body | {"currency": "EUR"}).status_code == 201
    spend(client, account, "30.00", "hobbies", on="2026-10-20")  # October left 70 unspent
    spend(client, account, "10.00", "books", on="2026-11-02")
    spend(client, account, "4.00", "coffee", on="2026-11-15")  # Sunday: the week of Monday 9th
    last = spend(client, account, "700.00", "travel", on="2026-02-01")
    seen = budgets(client, last["consistency_token"])
    assert (seen["Fun"]["current"]["carried_over"], seen["Fun"]["current"]["available"]) == (
        "70.00",
        "170.00",
    )
    assert seen["Fun"]["current"]["remaining"] == "160.00"
    week = seen["Week"]["current"]
    assert (week["start"], week["end"], week["spent"]) == ("2026-11-09", "2026-11-15", "4.00")
    assert (seen["Year"]["current"]["start"], seen["Year"]["current"]["spent"]) == ("2026-01-01", "700.00")


def test_a_renamed_category_keeps_its_budget_and_bad_input_changes_nothing(client: httpx.Client) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Renames", "currency": "EUR"}).json()["id"]
    spend(client, account, "12.00", "Garden")
    made = client.post(
        "/api/v1/budgets",
        json={"name": "Garden", "categories": ["garden"], "limit": "50.00", "currency": "EUR"},
    )
    assert made.status_code == 201, made.text
    renamed = client.put("/api/v1/categories/Garden", json={"name": "Yard"})
    seen = budgets(client, renamed.json()["consistency_token"])["Garden"]
    assert (seen["categories"], seen["current"]["spent"]) == (["Yard"], "12.00")
    budget_id = made.json()["id"]
    for bad in (
        {"name": "x", "categories": ["nowhere"], "limit": "1.00", "currency": "EUR"},
        {"name": "x", "categories": ["food"], "limit": "0", "currency": "EUR"},
        {"name": "x", "categories": ["food"], "limit": "1.00", "currency": "EUR", "period": "daily"},
        {"name": "x", "categories": [], "limit": "1.00", "currency": "EUR"},
        {"name": "x", "categories": ["food"], "limit": 1, "currency": "EUR"},
        {"name": "x", "categories": ["food"], "limit": "1.00", "currency": "EUR", "thresholds": [0]},
    ):
        assert client.post("/api/v1/budgets", json=bad).status_code in (404, 422), bad
    changed = client.put(
        f"/api/v1/budgets/{budget_id}",
        json={"limit": "80.00", "thresholds": [100, 75]},
        headers={"If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    stale = client.put(f"/api/v1/budgets/{budget_id}", json={"limit": "90.00"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    seen = client.get(
        f"/api/v1/budgets/{budget_id}", params={"after": changed.json()["consistency_token"], "on": ON}
    )
    assert (seen.json()["limit"], seen.json()["thresholds"]) == ("80.00", [75, 100])
    deleted = client.delete(f"/api/v1/budgets/{budget_id}")
    assert deleted.status_code == 200
    assert (
        client.get(
            f"/api/v1/budgets/{budget_id}", params={"after": deleted.json()["consistency_token"]}
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/budgets/{budget_id}").status_code == 404


def test_a_private_budget_is_its_owners_alone(server: Server, signup: Callable[..., Member]) -> None:
    owner, partner = signup("Owner"), signup("Partner")
    verify(partner)
    shared = join(server.url, owner, partner)
    mine = owner.client.post(
        "/api/v1/budgets",
        json={
            "name": "Secret gifts",
            "categories": ["gifts"],
            "limit": "300.00",
            "currency": "EUR",
            "private": True,
        },
    )
    ours = owner.client.post(
        "/api/v1/budgets",
        json={"name": "Groceries", "categories": ["groceries"], "limit": "500.00", "currency": "EUR"},
    )
    token = ours.json()["consistency_token"]
    assert set(budgets(owner.client, token)) == {"Secret gifts", "Groceries"}
    with shared:
        assert set(budgets(shared, token)) == {"Groceries"}
        secret = mine.json()["id"]
        assert shared.get(f"/api/v1/budgets/{secret}").status_code == 404
        assert shared.put(f"/api/v1/budgets/{secret}", json={"limit": "1.00"}).status_code == 404
        assert shared.delete(f"/api/v1/budgets/{secret}").status_code == 404
        assert shared.put(f"/api/v1/budgets/{ours.json()['id']}", json={"private": True}).status_code == 403
    today = dt.date.today()
    assert (
        budgets(owner.client, token, on=today.isoformat())["Groceries"]["current"]["start"]
        == today.replace(day=1).isoformat()
    )


def alerts_of(client: httpx.Client, budget_id: str, count: int) -> list[dict[str, Any]]:
    """The budget's alerts once there are ``count`` (the follower and relay run a moment later)."""
    found: list[dict[str, Any]] = []
    for _ in range(100):
        found = client.get(f"/api/v1/budgets/{budget_id}/alerts").json()
        if len(found) >= count:
            break
        time.sleep(0.1)
    return found


def test_each_threshold_alerts_once_per_period(server: Server, client: httpx.Client) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Alerted", "currency": "EUR"}).json()["id"]
    made = client.post(
        "/api/v1/budgets",
        json={
            "name": "Eating",
            "categories": ["food"],
            "limit": "100.00",
            "currency": "EUR",
            "thresholds": [50, 100],
        },
    )
    budget_id = made.json()["id"]
    first = spend(client, account, "60.00", "groceries", on="2026-11-03")
    assert [(a["threshold"], a["spent"]) for a in alerts_of(client, budget_id, 1)] == [(50, "60.00")]
    spend(client, account, "45.00", "coffee", on="2026-11-04")
    found = alerts_of(client, budget_id, 2)
    assert [(a["period_start"], a["threshold"], a["spent"]) for a in found] == [
        ("2026-11-01", 50, "60.00"),
        ("2026-11-01", 100, "105.00"),
    ]
    # Below again, then above again: no second alert in the same period.
    client.delete(f"/api/v1/transactions/{first['id']}")
    spend(client, account, "70.00", "restaurants", on="2026-11-05")
    # A backdated expense alerts in its own period; a recategorised one counts where it moved.
    moved = spend(client, account, "55.00", "fuel", on="2026-10-20")
    client.put(f"/api/v1/transactions/{moved['id']}/category", json={"category": "takeaway"})
    found = alerts_of(client, budget_id, 3)
    assert [(a["period_start"], a["threshold"]) for a in found] == [
        ("2026-11-01", 50),
        ("2026-11-01", 100),
        ("2026-10-01", 50),
    ]
    time.sleep(1.5)  # a late duplicate would show up by now
    assert len(client.get(f"/api/v1/budgets/{budget_id}/alerts").json()) == 3
    with psycopg.connect(server.conninfo) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM eventstore.fiscaflow_events WHERE topic LIKE %s"
            " AND convert_from(state, 'UTF8') LIKE %s",
            ("%BudgetThresholdCrossed", f"%{budget_id.replace('-', '')}%"),
        ).fetchone()
    assert stored == (3,)
