"""Tenant isolation (BOLA), discovered from the OpenAPI document: every route with an id,
called with another household's ids, answers 404 (403 for admin-only functions), leaks
nothing and changes nothing. A new route with an id fails here until it is listed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server
from tests.e2e.users import Member

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

# A valid body for each operation that takes one, so that validation passes and the
# ownership check is what answers.
BODIES: dict[str, dict[str, Any] | None] = {
    "renameAccount": {"name": "Stolen"},
    "shareAccount": {"default": "none"},
    "reconcileAccount": {"closing_date": "2026-12-31", "closing_balance": "77.00"},
    "closeAccount": None,
    "getAccount": None,
    "getAccountBalance": None,
    "editTransaction": {"description": "stolen"},
    "recategoriseTransaction": {"category": "stolen"},
    "postTransaction": None,
    "disputeTransaction": {"reason": "stolen"},
    "cancelTransaction": None,
    "getTransaction": None,
    "getTransactionHistory": None,
    "getHousehold": None,
    "inviteMember": {"email": "thief@example.org", "role": "family_owner"},
    "changeMemberRole": {"role": "read_only"},
    "removeMember": None,
    "deleteUser": None,
    "eraseUser": None,
    "changeUserRole": {"role": "admin"},
    "suspendUser": {"reason": "stolen"},
    "reinstateUser": None,
    "revokePersonalToken": None,
    "renameCategory": {"name": "Stolen"},
    "mergeCategory": {"into": "groceries"},
    "archiveCategory": None,
    "getRule": None,
    "replaceRule": {
        "name": "Stolen",
        "triggers": [{"field": "merchant", "op": "contains", "value": "x"}],
        "actions": {"set_category": "groceries"},
    },
    "deleteRule": None,
    "runRule": {},
    "undoRuleRun": None,
    "undoImport": None,
    "getImport": None,
    "voidTransaction": {"reason": "stolen"},
    "listReceipts": None,
    "attachReceipt": None,  # the body is the file: sent raw below
    "getReceipt": None,
    "detachReceipt": None,
    "downloadExport": None,
    "getBudget": None,
    "listBudgetAlerts": None,
    "changeBudget": {"limit": "1.00"},
    "deleteBudget": None,
    "getGoal": None,
    "changeGoal": {"target": "1.00"},
    "deleteGoal": None,
    "unshareExpense": None,
    "getSchedule": None,
    "changeSchedule": {"amount": "1.00"},
    "deleteSchedule": None,
    "getMonitor": None,
    "changeMonitor": {"threshold": "1.00"},
    "deleteMonitor": None,
    "removeWebhook": None,
    "explainAccountBalance": None,
    "getTransactionChanges": None,
    "getBudgetChanges": None,
    "getRuleChanges": None,
    "getAggregateHistory": None,
    "getAggregateState": None,
    "getPeriods": None,
    "getAccountBalanceKnownAt": None,
    "getSpendingKnownAt": None,
}
RAW = {"attachReceipt": (b"%PDF-1.7 stolen", "application/pdf")}
ADMIN_ONLY = {
    "changeUserRole", "suspendUser", "reinstateUser", "getAggregateHistory", "getAggregateState",
    "getAccountBalanceKnownAt", "getSpendingKnownAt",
}  # fmt: skip


def routes_with_ids(server: Server) -> list[tuple[str, str, str]]:
    document = httpx.get(f"{server.url}/schema/openapi.json").json()
    return [
        (method.upper(), path, operation["operationId"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "{" in path and method in {"get", "post", "put", "delete", "patch"}
    ]


def test_every_route_with_an_id_answers_404_to_another_household(
    server: Server, signup: Callable[..., Member]
) -> None:
    victim, intruder = signup("Victim"), signup("Intruder")
    canary = f"Canary-{uuid.uuid4().hex[:8]}"
    account = victim.client.post("/api/v1/accounts", json={"name": canary, "currency": "EUR"}).json()["id"]
    recorded = victim.client.post(
        "/api/v1/transactions",
        json={
            "kind": "income",
            "account_id": account,
            "amount": "77.00",
            "date": "2026-11-01",
            "description": canary,
        },
    )
    transaction = recorded.json()["id"]
    personal = victim.client.post("/api/v1/users/tokens", json={"name": "script", "scopes": ["read"]}).json()
    category = f"Secret-{uuid.uuid4().hex[:8]}"  # a category only the victim's household has
    assert victim.client.post("/api/v1/categories", json={"name": category}).status_code == 201
    rule = victim.client.post(
        "/api/v1/rules",
        json={
            "name": "Mine",
            "triggers": [{"field": "description", "op": "contains", "value": canary}],
            "actions": {"set_category": category},
        },
    ).json()["id"]
    run = victim.client.post(f"/api/v1/rules/{rule}/runs", json={})
    assert run.status_code == 201, run.text
    imported = victim.client.post(
        "/api/v1/transactions/import",
        params={"account_id": account},
        content=f"date,amount,description\n2026-11-02,5.00,{canary}\n".encode(),
    )
    assert imported.status_code == 201, imported.text
    receipt = victim.client.post(
        f"/api/v1/transactions/{transaction}/receipts",
        content=b"%PDF-1.7 " + canary.encode(),
        headers={"Content-Type": "application/pdf"},
    )
    assert receipt.status_code == 201, receipt.text
    spare = victim.client.post("/api/v1/accounts", json={"name": "Spare", "currency": "EUR"}).json()["id"]
    many = [
        {"kind": "income", "account_id": spare, "amount": "1.00", "date": "2026-11-04", "description": str(n)}
        for n in range(60)
    ]
    bulk = victim.client.post("/api/v1/transactions/bulk", json={"transactions": many})
    export = victim.client.get(
        "/api/v1/transactions/export",
        params={"account_id": spare, "after": bulk.json()["consistency_token"]},
    )
    assert export.status_code == 202, export.text  # above the server's inline limit: a link
    budget = victim.client.post(
        "/api/v1/budgets", json={"name": canary, "categories": ["food"], "limit": "77.00", "currency": "EUR"}
    )
    assert budget.status_code == 201, budget.text
    goal = victim.client.post(
        "/api/v1/goals", json={"name": canary, "target": "77.00", "currency": "EUR", "account_ids": [account]}
    )
    assert goal.status_code == 201, goal.text
    schedule = victim.client.post(
        "/api/v1/schedules",
        json={
            "name": canary,
            "account_id": account,
            "amount": "77.00",
            "start": "2026-11-01",
            "mode": "bill",
        },
    )
    assert schedule.status_code == 201, schedule.text
    monitor = victim.client.post("/api/v1/monitors", json={"account_id": account, "threshold": "77.00"})
    assert monitor.status_code == 201, monitor.text
    webhook = victim.client.post(
        "/api/v1/notifications/webhooks", json={"url": "https://example.org/hook", "kinds": ["bill.missed"]}
    )
    assert webhook.status_code == 201, webhook.text
    closed = victim.client.post("/api/v1/periods/close", json={"through": "2026-10-31"})
    assert closed.status_code == 201, closed.text
    ids = {
        "books_id": closed.json()["id"],
        "schedule_id": schedule.json()["id"],
        "monitor_id": monitor.json()["id"],
        "webhook_id": webhook.json()["id"],
        "aggregate_id": account,
        "goal_id": goal.json()["id"],
        "budget_id": budget.json()["id"],
        "token": export.json()["url"].rsplit("/", 1)[1],
        "sha256": receipt.headers["Location"].rsplit("/", 1)[1],
        "batch_id": imported.json()["batch_id"],
        "name": category,
        "rule_id": rule,
        "run_id": run.json()["run_id"],
        "token_id": personal["id"],
        "account_id": account,
        "transaction_id": transaction,
        "household_id": victim.household_id,
        "user_id": victim.user_id,
    }
    routes = routes_with_ids(server)
    assert len(routes) >= len(BODIES)  # the discovery found the routes
    unlisted = [operation for _, _, operation in routes if operation not in BODIES]
    assert unlisted == [], f"add a body (or None) for {unlisted} to BODIES"

    for method, template, operation in routes:
        path = template.format(**ids)
        if operation in RAW:
            raw, media = RAW[operation]
            response = intruder.client.request(method, path, content=raw, headers={"Content-Type": media})
        else:
            response = intruder.client.request(method, path, json=BODIES[operation])
        expected = 403 if operation in ADMIN_ONLY else 404
        assert response.status_code == expected, (method, path, response.text)
        assert canary not in response.text and "77.00" not in response.text and "82.00" not in response.text

    by_body = [
        intruder.client.post(
            "/api/v1/transactions",
            json={"kind": "expense", "account_id": account, "amount": "1.00", "date": "2026-11-01"},
        ),
        intruder.client.post("/api/v1/users/switch-household", json={"household_id": victim.household_id}),
        intruder.client.post(
            "/api/v1/transactions/bulk",
            json={
                "transactions": [
                    {"kind": "expense", "account_id": account, "amount": "1.00", "date": "2026-11-01"}
                ]
            },
        ),
        intruder.client.post(
            "/api/v1/transactions/import",
            params={"account_id": account},
            content=b"date,amount,description\n2026-11-03,1.00,stolen\n",
        ),
        intruder.client.get("/api/v1/transactions", params={"account_id": account}),
        intruder.client.get("/api/v1/transactions", params={"q": canary}),
    ]
    assert [r.status_code for r in by_body] == [404, 404, 404, 404, 200, 200]
    by_reference = [  # another household's account or transaction named in a body
        intruder.client.post("/api/v1/monitors", json={"account_id": account, "threshold": "1.00"}),
        intruder.client.post(
            "/api/v1/schedules",
            json={"name": "x", "account_id": account, "amount": "1.00", "start": "2026-11-01"},
        ),
        intruder.client.post("/api/v1/settlement/shares", json={"transaction_id": transaction}),
        intruder.client.post("/api/v1/notifications/read", json={"notification_ids": [transaction]}),
    ]
    assert [r.status_code for r in by_reference] == [404, 404, 404, 404]
    assert intruder.client.get("/api/v1/schedules").json() == []
    assert intruder.client.get("/api/v1/monitors").json() == []
    assert intruder.client.get("/api/v1/notifications/webhooks").json() == []
    assert all(canary not in r.text for r in by_body)

    # Nothing changed for the victim.
    token = {"X-Consistency-Token": str(receipt.json()["consistency_token"])}
    seen = victim.client.get(f"/api/v1/transactions/{transaction}", headers=token).json()
    assert (seen["version"], seen["status"], seen["description"]) == (3, "posted", canary)
    assert seen["category"] == category
    accounts = victim.client.get("/api/v1/accounts").json()
    assert [(a["name"], a["status"], a["balance"]) for a in accounts if a["name"] == canary] == [
        (canary, "open", "82.00")
    ]
    assert victim.client.get(f"/api/v1/exports/{ids['token']}").status_code == 200
    kept_schedule = victim.client.get(f"/api/v1/schedules/{ids['schedule_id']}").json()
    assert (kept_schedule["name"], kept_schedule["amount"]) == (canary, "77.00")
    assert victim.client.get(f"/api/v1/monitors/{ids['monitor_id']}").json()["threshold"] == "77.00"
    hooks = victim.client.get("/api/v1/notifications/webhooks").json()
    assert [w["id"] for w in hooks] == [ids["webhook_id"]]
    kept = victim.client.get(f"/api/v1/transactions/{transaction}/receipts/{ids['sha256']}")
    assert kept.content == b"%PDF-1.7 " + canary.encode()
    household = victim.client.get(f"/api/v1/households/{victim.household_id}").json()
    assert [m["user_id"] for m in household["members"]] == [victim.user_id]
    assert victim.client.get("/api/v1/users/profile").json()["status"] == "active"
    assert [t["revoked"] for t in victim.client.get("/api/v1/users/tokens").json()] == [False]
