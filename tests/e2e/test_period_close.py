"""Period close over HTTP: a close records every account's balance on its last day and the
event log's chain head; afterwards a change dated in the closed period is refused (409
`period-closed`) and changes nothing, unless an admin overrides it with a reason that the
audit trail shows; periods close in order; another household's books do not exist."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.server import Server
from tests.e2e.users import Member, authenticated, login

pytestmark = pytest.mark.e2e
PERIOD_CLOSED = "https://fiscaflow.dev/problems/period-closed"


def promote(server: Server, member: Member, role: str) -> httpx.Client:
    """The member with a global role, logged in again so that the token carries it."""
    result = subprocess.run(
        [sys.executable, "-m", "ops", "users", "set-role", member.email, role],
        env=os.environ | {"DATABASE_URL": server.conninfo},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return authenticated(server.url, login(server.url, member.email).json()["access_token"])


def record(client: httpx.Client, **entry: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/transactions", json={"description": "entry", **entry})
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def balance(client: httpx.Client, account: str, token: int, as_of: str | None = None) -> str:
    params: dict[str, Any] = {"after": token} | ({"as_of": as_of} if as_of else {})
    answer = client.get(f"/api/v1/accounts/{account}/balance", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["balance"]  # type: ignore[no-any-return]


def january_books(client: httpx.Client) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """Checking and Savings with January entries (income 100, expense 30, transfer 20) and
    one in February (income 5): checking, savings, the January expense, the February income."""
    checking = client.post("/api/v1/accounts", json={"name": "Checking", "currency": "EUR"}).json()["id"]
    savings = client.post("/api/v1/accounts", json={"name": "Savings", "currency": "EUR"}).json()["id"]
    record(client, kind="income", account_id=checking, amount="100.00", date="2026-01-10")
    expense = record(
        client, kind="expense", account_id=checking, amount="30.00", date="2026-01-20", category="groceries"
    )
    record(
        client, kind="transfer", account_id=checking, to_account_id=savings, amount="20.00", date="2026-01-25"
    )
    february = record(client, kind="income", account_id=checking, amount="5.00", date="2026-02-05")
    return checking, savings, expense, february


def refused(answer: httpx.Response) -> None:
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert (problem["type"], problem["closed_through"]) == (PERIOD_CLOSED, "2026-01-31")


def test_close_records_balances_and_chain_head_and_refuses_backdated_changes(
    server: Server, signup: Callable[..., Member]
) -> None:
    owner = signup("Owner")
    client = owner.client
    checking, savings, expense, february = january_books(client)

    closed = client.post("/api/v1/periods/close", json={"through": "2026-01-31"})
    assert closed.status_code == 201, closed.text
    close = closed.json()
    token = close["consistency_token"]
    assert close["balances"] == {
        checking: {"amount": "50.00", "currency": "EUR"},
        savings: {"amount": "20.00", "currency": "EUR"},
    }
    assert balance(client, checking, token, "2026-01-31") == "50.00"  # the read side agrees
    assert balance(client, savings, token, "2026-01-31") == "20.00"
    assert (close["through"], close["closed_by"]) == ("2026-01-31", owner.user_id)
    with psycopg.connect(server.conninfo) as conn:
        covered = conn.execute(
            "SELECT up_to FROM eventstore.checkpoints WHERE digest = %s",
            (bytes.fromhex(close["chain_head"]),),
        ).fetchone()
    assert covered is not None and covered[0] >= february["consistency_token"]  # all before the close
    listed = client.get("/api/v1/periods").json()
    assert (listed["id"], listed["closed_through"]) == (close["id"], "2026-01-31")
    assert [c["balances"] for c in listed["closes"]] == [close["balances"]]

    before = client.get(f"/api/v1/transactions/{expense['id']}", params={"after": token}).json()
    refused(client.post(
        "/api/v1/transactions",
        json={"kind": "expense", "account_id": checking, "amount": "9.00", "date": "2026-01-15"},
    ))  # fmt: skip
    refused(client.put(f"/api/v1/transactions/{expense['id']}", json={"description": "changed"}))
    refused(client.put(f"/api/v1/transactions/{february['id']}", json={"date": "2026-01-31"}))
    refused(client.put(f"/api/v1/transactions/{expense['id']}/category", json={"category": "dining"}))
    refused(client.delete(f"/api/v1/transactions/{expense['id']}", params={"reason": "oops"}))
    refused(client.post(f"/api/v1/transactions/{expense['id']}/dispute", json={"reason": "not mine"}))
    statement = {"closing_date": "2026-01-31", "closing_balance": "50.00"}
    refused(client.post(f"/api/v1/accounts/{checking}/reconciliations", json=statement))
    imported = client.post(
        "/api/v1/transactions/import",
        params={"account_id": checking},
        content=b"date,amount,description\n2026-01-12,-7.00,late line\n",
    )
    refused(imported)

    # Nothing changed: balances and the transaction as they were.
    head = client.get(f"/api/v1/transactions/{february['id']}", params={"after": token}).json()
    assert head["date"] == "2026-02-05"
    after = client.get(f"/api/v1/transactions/{expense['id']}").json()
    assert (after["version"], after["status"], after["description"], after["category"]) == (
        before["version"], "posted", before["description"], "groceries",
    )  # fmt: skip
    assert balance(client, checking, token) == "55.00"
    assert balance(client, savings, token) == "20.00"

    # After the closed period, changes go on as before.
    later = record(client, kind="expense", account_id=checking, amount="4.00", date="2026-02-01")
    edited = client.put(f"/api/v1/transactions/{february['id']}", json={"description": "bonus"})
    assert edited.status_code == 200, edited.text
    assert (
        balance(client, checking, max(later["consistency_token"], edited.json()["consistency_token"]))
        == "51.00"
    )

    # Periods close in order.
    for earlier in ("2026-01-31", "2026-01-15"):
        again = client.post("/api/v1/periods/close", json={"through": earlier})
        assert (again.status_code, again.json()["type"]) == (409, PERIOD_CLOSED), again.text
    assert client.post("/api/v1/periods/close", json={"through": "31/01/2026"}).status_code == 422
    future = client.post("/api/v1/periods/close", json={"through": "2999-12-31"})
    assert future.status_code == 422 and "has not come yet" in future.text, future.text


def test_only_an_admin_overrides_and_the_reason_is_in_the_audit_trail(
    server: Server, signup: Callable[..., Member]
) -> None:
    owner = signup("Owner")
    checking, _, expense, _ = january_books(owner.client)
    assert owner.client.post("/api/v1/periods/close", json={"through": "2026-01-31"}).status_code == 201
    reason = {"X-Override-Reason": "bank reversed a duplicate charge"}

    denied = owner.client.delete(
        f"/api/v1/transactions/{expense['id']}", params={"reason": "dup"}, headers=reason
    )
    assert (denied.status_code, denied.json()["type"]) == (403, "https://fiscaflow.dev/problems/forbidden")
    blank = owner.client.delete(
        f"/api/v1/transactions/{expense['id']}", headers={"X-Override-Reason": "x" * 501}
    )
    assert blank.status_code == 422, blank.text

    with promote(server, owner, "admin") as admin:
        cancelled = admin.delete(
            f"/api/v1/transactions/{expense['id']}", params={"reason": "dup"}, headers=reason
        )
        assert cancelled.status_code == 200, cancelled.text
        token = cancelled.json()["consistency_token"]
        assert balance(admin, checking, token, "2026-01-31") == "80.00"
        backdated = admin.post(
            "/api/v1/transactions",
            json={"kind": "expense", "account_id": checking, "amount": "1.00", "date": "2026-01-02"},
            headers=reason,
        )
        assert backdated.status_code == 201, backdated.text
        refused(
            admin.put(f"/api/v1/transactions/{backdated.json()['id']}", json={"notes": "no reason given"})
        )

        trail = admin.get(
            "/api/v1/audit/events",
            params={"household_id": owner.household_id, "type": "Books.ClosedPeriodOverridden"},
        ).json()["items"]
        assert [
            (e["data"]["transaction_id"], e["data"]["on"], e["data"]["reason"], e["data"]["by"])
            for e in trail
        ] == [
            (expense["id"], "2026-01-20", "bank reversed a duplicate charge", owner.user_id),
            (backdated.json()["id"], "2026-01-02", "bank reversed a duplicate charge", owner.user_id),
        ]
        assert {e["metadata"]["actor"] for e in trail} == {owner.user_id}
        assert [e["metadata"]["command"] for e in trail] == ["cancelTransaction", "recordTransaction"]
        # Each override was stored in the same append as the change it allowed.
        cancel_events = admin.get(
            "/api/v1/audit/events", params={"aggregate_id": expense["id"], "type": "Transaction.Cancelled"}
        ).json()["items"]
        assert [e["metadata"]["correlation_id"] for e in cancel_events] == [
            trail[0]["metadata"]["correlation_id"]
        ]

        reopened = admin.post("/api/v1/periods/reopen", json={"reason": "closed a month too early"})
        assert (reopened.status_code, reopened.json()["closed_through"]) == (200, None), reopened.text
    assert owner.client.post("/api/v1/periods/reopen", json={"reason": "me too"}).status_code == 403


def test_another_household_neither_sees_nor_closes_your_books(
    server: Server, signup: Callable[..., Member]
) -> None:
    victim, intruder = signup("Victim"), signup("Intruder")
    checking, *_ = january_books(victim.client)
    books = victim.client.post("/api/v1/periods/close", json={"through": "2026-01-31"}).json()

    assert intruder.client.get(f"/api/v1/periods/{books['id']}").status_code == 404
    assert intruder.client.get("/api/v1/periods").json()["closes"] == []
    assert intruder.client.post("/api/v1/periods/close", json={"through": "2026-03-31"}).status_code == 201
    assert intruder.client.get(f"/api/v1/periods/{books['id']}").status_code == 404

    mine = victim.client.get(f"/api/v1/periods/{books['id']}").json()
    assert (mine["closed_through"], len(mine["closes"])) == ("2026-01-31", 1)
    later = record(victim.client, kind="expense", account_id=checking, amount="1.00", date="2026-02-15")
    assert balance(victim.client, checking, later["consistency_token"]) == "54.00"
