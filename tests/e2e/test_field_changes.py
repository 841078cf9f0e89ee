"""Field-level change history of transactions, budgets and rules: who changed which field
from what to what, when, and why (the event, the command, the request's correlation id)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.users import Member

pytestmark = pytest.mark.e2e


def changed(entries: list[dict[str, Any]], version: int) -> dict[str, tuple[Any, Any]]:
    entry = next(e for e in entries if e["version"] == version)
    return {c["field"]: (c["old"], c["new"]) for c in entry["changes"]}


def test_who_changed_which_field_from_what_to_what(member: Member, signup: Any) -> None:
    client: httpx.Client = member.client
    account = client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()["id"]
    made = client.post(
        "/api/v1/transactions",
        json={"kind": "expense", "account_id": account, "amount": "12.00", "date": "2026-11-03",
              "description": "Lunch", "category": "groceries"},
    ).json()  # fmt: skip
    tid = made["id"]
    client.put(
        f"/api/v1/transactions/{tid}", json={"description": "Team lunch"}, headers={"X-Request-ID": "edit-1"}
    )
    last = client.put(f"/api/v1/transactions/{tid}/category", json={"category": "restaurants"})
    assert last.status_code == 200, last.text
    entries = client.get(f"/api/v1/transactions/{tid}/changes").json()
    assert [e["version"] for e in entries] == [1, 2, 3]
    assert changed(entries, 1)["description"] == (None, "Lunch")
    edit = next(e for e in entries if e["version"] == 2)
    assert (edit["type"], edit["actor"], edit["command"], edit["correlation_id"]) == (
        "Transaction.Edited", member.user_id, "editTransaction", "edit-1",
    )  # fmt: skip
    assert changed(entries, 2) == {"description": ("Lunch", "Team lunch")}
    assert changed(entries, 3)["category"] == ("groceries", "restaurants")

    budget = client.post(
        "/api/v1/budgets", json={"name": "Food", "categories": ["food"], "limit": "100.00", "currency": "EUR"}
    ).json()["id"]
    assert client.put(f"/api/v1/budgets/{budget}", json={"limit": "150.00"}).status_code == 200
    budget_changes = client.get(f"/api/v1/budgets/{budget}/changes").json()
    assert changed(budget_changes, 2) == {
        "limit": ({"amount": "100.00", "currency": "EUR"}, {"amount": "150.00", "currency": "EUR"})
    }
    assert budget_changes[-1]["command"] == "changeBudget"

    rule = client.post(
        "/api/v1/rules",
        json={"name": "Coffee", "triggers": [{"field": "description", "op": "contains", "value": "coffee"}],
              "actions": {"set_category": "coffee"}},
    ).json()["id"]  # fmt: skip
    rule_update = {
        "name": "Coffee", "priority": 5,
        "triggers": [{"field": "description", "op": "contains", "value": "coffee"}],
        "actions": {"set_category": "coffee"},
    }  # fmt: skip
    assert client.put(f"/api/v1/rules/{rule}", json=rule_update).status_code == 200
    answer = client.get(f"/api/v1/rules/{rule}/changes")
    assert answer.status_code == 200, answer.text
    rule_changes = answer.json()
    assert [e["changes"] for e in rule_changes][-1] == [{"field": "priority", "old": 100, "new": 5}]
    assert rule_changes[0]["changes"][0]["old"] is None  # created

    stranger = signup("Stranger")
    for path in (
        f"/api/v1/transactions/{tid}/changes",
        f"/api/v1/budgets/{budget}/changes",
        f"/api/v1/rules/{rule}/changes",
    ):
        assert stranger.client.get(path).status_code == 404
