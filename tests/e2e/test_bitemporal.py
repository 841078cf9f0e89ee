"""Bi-temporal audit queries over HTTP: a balance and a spending report at an effective date,
as the books stood at a recorded time, across a backdated entry and an edit of an old one."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server
from tests.e2e.test_audit_api import make_auditor

pytestmark = pytest.mark.e2e


def entry(client: httpx.Client, account: str, kind: str, amount: str, on: str) -> dict[str, Any]:
    body = {"kind": kind, "account_id": account, "amount": amount, "date": on}
    answer = client.post("/api/v1/transactions", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def last_recorded(auditor: httpx.Client, aggregate: str) -> str:
    """When the aggregate's latest event was stored: an instant between two commands."""
    page = auditor.get("/api/v1/audit/events", params={"aggregate_id": aggregate}).json()
    return page["items"][-1]["recorded_at"]  # type: ignore[no-any-return]


def known(auditor: httpx.Client, account: str, on: str, known_at: str | None = None) -> dict[str, Any]:
    params = {"on": on} | ({"known_at": known_at} if known_at else {})
    answer = auditor.get(f"/api/v1/audit/accounts/{account}/balance", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def spent(auditor: httpx.Client, household: str, month: tuple[str, str], known_at: str | None) -> Any:
    params = {"date_from": month[0], "date_to": month[1]} | ({"known_at": known_at} if known_at else {})
    answer = auditor.get(f"/api/v1/audit/households/{household}/spending", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_books_as_they_stood_before_a_backdated_entry_and_an_edit(server: Server, signup: Any) -> None:
    owner, staff = signup("Owner"), signup("Staff")
    account = owner.client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()["id"]
    entry(owner.client, account, "income", "100.00", "2026-11-01")
    old = entry(owner.client, account, "expense", "20.00", "2026-11-05")
    november = ("2026-11-01", "2026-11-30")
    with make_auditor(server, staff) as auditor:
        before_backdating = last_recorded(auditor, account)
        entry(owner.client, account, "expense", "30.00", "2026-10-15")  # backdated: recorded later
        before_edit = last_recorded(auditor, account)
        moved = owner.client.put(
            f"/api/v1/transactions/{old['id']}", json={"date": "2026-12-01"}, headers={"If-Match": "1"}
        )
        assert moved.status_code == 200, moved.text

        then = known(auditor, account, "2026-11-10", before_backdating)
        assert (then["balance"], then["postings"], then["currency"]) == ("80.00", 2, "EUR")
        assert then["household_id"] == owner.household_id
        assert known(auditor, account, "2026-11-10", before_edit)["balance"] == "50.00"
        now = known(auditor, account, "2026-11-10")
        assert (now["balance"], now["postings"]) == ("70.00", 2)  # the edit moved the expense to December
        assert known(auditor, account, "2026-10-31", before_backdating)["balance"] == "0.00"
        assert known(auditor, account, "2026-10-31")["balance"] == "-30.00"
        token = {"X-Consistency-Token": str(moved.json()["consistency_token"])}
        live = owner.client.get(
            f"/api/v1/accounts/{account}/balance", params={"as_of": "2026-11-10"}, headers=token
        )
        assert live.json()["balance"] == now["balance"]  # known now = the read model's answer

        then_spent = spent(auditor, owner.household_id, november, before_backdating)
        assert [(r["category"], r["currency"], r["amount"], r["count"]) for r in then_spent["rows"]] == [
            ("uncategorised", "EUR", "20.00", 1)
        ]
        assert then_spent["totals"] == {"EUR": "20.00"}
        assert spent(auditor, owner.household_id, november, None)["rows"] == []  # moved out of November
        autumn = spent(auditor, owner.household_id, ("2026-10-01", "2026-12-31"), before_edit)
        assert autumn["totals"] == {"EUR": "50.00"}

        first = auditor.get(f"/api/v1/audit/aggregates/{account}/history").json()[0]["event"]["recorded_at"]
        unborn = auditor.get(
            f"/api/v1/audit/accounts/{account}/balance", params={"known_at": "2020-01-01T00:00:00Z"}
        )
        assert unborn.status_code == 404  # the account was not in the books yet
        assert known(auditor, account, "2026-12-31", first)["balance"] == "0.00"
        naive = auditor.get(
            f"/api/v1/audit/accounts/{account}/balance", params={"known_at": "2026-11-01T10:00:00"}
        )
        assert naive.status_code == 422 and "time zone" in naive.text
        backwards = auditor.get(
            f"/api/v1/audit/households/{owner.household_id}/spending",
            params={"date_from": "2026-12-01", "date_to": "2026-11-01"},
        )
        assert backwards.status_code == 422
        assert auditor.get(f"/api/v1/audit/accounts/{uuid.uuid4()}/balance").status_code == 404
        assert auditor.get(f"/api/v1/audit/households/{uuid.uuid4()}/spending").status_code == 404

    for path in (
        f"/api/v1/audit/accounts/{account}/balance",
        f"/api/v1/audit/households/{owner.household_id}/spending",
    ):
        assert owner.client.get(path).status_code == 403  # the household itself is no auditor
