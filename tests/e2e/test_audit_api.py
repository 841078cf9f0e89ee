"""The audit trail over HTTP, for compliance staff: events with who and why, filtered and
paged; an account's history with its balance after each event; its state at a time or a
version. Everyone but auditors and admins gets 403."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server
from tests.e2e.users import Member, authenticated, login

pytestmark = pytest.mark.e2e


def make_auditor(server: Server, member: Member) -> httpx.Client:
    result = subprocess.run(
        [sys.executable, "-m", "ops", "users", "set-role", member.email, "auditor"],
        env=os.environ | {"DATABASE_URL": server.conninfo},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return authenticated(server.url, login(server.url, member.email).json()["access_token"])


def income(client: httpx.Client, account: str, amount: str) -> dict[str, Any]:
    body = {"kind": "income", "account_id": account, "amount": amount, "date": "2026-11-02"}
    answer = client.post("/api/v1/transactions", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_the_audit_trail_for_auditors_only(server: Server, signup: Any) -> None:
    owner, staff = signup("Owner"), signup("Staff")
    account = owner.client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()["id"]
    income(owner.client, account, "10.00")
    income(owner.client, account, "20.00")
    income(owner.client, account, "30.00")
    for path in (
        "/api/v1/audit/events",
        f"/api/v1/audit/aggregates/{account}",
        f"/api/v1/audit/aggregates/{account}/history",
    ):
        assert owner.client.get(path).status_code == 403

    with make_auditor(server, staff) as auditor:
        recorded = auditor.get(
            "/api/v1/audit/events",
            params={"household_id": owner.household_id, "type": "Transaction.Recorded"},
        ).json()
        assert [e["data"]["postings"][0]["amount"]["amount"] for e in recorded["items"]] == [
            "10.00",
            "20.00",
            "30.00",
        ]
        assert {e["metadata"]["actor"] for e in recorded["items"]} == {owner.user_id}
        assert {e["metadata"]["command"] for e in recorded["items"]} == {"recordTransaction"}
        first = auditor.get("/api/v1/audit/events", params={"actor": owner.user_id, "limit": 2}).json()
        second = auditor.get(
            "/api/v1/audit/events", params={"actor": owner.user_id, "limit": 2, "after": first["next_after"]}
        ).json()
        positions = [e["position"] for e in first["items"] + second["items"]]
        assert positions == sorted(set(positions)) and len(positions) == 4

        history = auditor.get(f"/api/v1/audit/aggregates/{account}/history").json()
        assert [(h["event"]["type"], h["state"]["balance"]) for h in history] == [
            ("Account.Opened", "0"), ("Account.OwnerAssigned", "0"), ("Account.PostingApplied", "10.00"),
            ("Account.PostingApplied", "30.00"), ("Account.PostingApplied", "60.00"),
        ]  # fmt: skip
        at_version = auditor.get(f"/api/v1/audit/aggregates/{account}", params={"version": 3}).json()
        assert (at_version["type"], at_version["version"], at_version["state"]["balance"]) == (
            "Account",
            3,
            "10.00",
        )
        cut = history[3]["event"]["recorded_at"]  # when the second income's posting was stored
        then = auditor.get(f"/api/v1/audit/aggregates/{account}", params={"as_of": cut}).json()
        assert then["state"]["balance"] == "30.00"  # the books as they stood then
        assert auditor.get(f"/api/v1/audit/aggregates/{uuid.uuid4()}").status_code == 404
        both = auditor.get(f"/api/v1/audit/aggregates/{account}", params={"as_of": cut, "version": 1})
        assert both.status_code == 422
        assert auditor.get("/api/v1/audit/events", params={"type": "x;drop"}).status_code == 422
        users = auditor.get("/api/v1/audit/events", params={"aggregate_id": owner.user_id}).json()["items"]
        assert users and all("password_hash" not in e["data"] for e in users)
