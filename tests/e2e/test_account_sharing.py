"""Per-account sharing inside a household: private, view, annotate and full."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server
from tests.e2e.users import Member, join, verify

pytestmark = pytest.mark.e2e
SignUp = Callable[..., Member]


def household_pair(server: Server, signup: SignUp) -> tuple[Member, Member, httpx.Client]:
    owner, partner = signup("Owner"), signup("Partner")
    verify(partner)
    return owner, partner, join(server.url, owner, partner)


def income(account: str, amount: str = "10.00", **fields: Any) -> dict[str, Any]:
    return {"kind": "income", "account_id": account, "amount": amount, "date": "2026-11-01", **fields}


def test_a_private_account_and_its_transactions_are_invisible_to_other_members(
    server: Server, signup: SignUp
) -> None:
    owner, _, partner = household_pair(server, signup)
    with partner:
        private = owner.client.post(
            "/api/v1/accounts", json={"name": "Mine", "currency": "EUR", "sharing": "none"}
        )
        shared = owner.client.post("/api/v1/accounts", json={"name": "Ours", "currency": "EUR"})
        secret = owner.client.post(
            "/api/v1/transactions", json=income(private.json()["id"], description="bonus")
        )
        public = owner.client.post(
            "/api/v1/transactions", json=income(shared.json()["id"], description="rent")
        )
        token = {"X-Consistency-Token": public.headers["X-Consistency-Token"]}
        assert [a["name"] for a in partner.get("/api/v1/accounts", headers=token).json()] == ["Ours"]
        assert partner.get(f"/api/v1/accounts/{private.json()['id']}").status_code == 404
        assert partner.get(f"/api/v1/accounts/{private.json()['id']}/balance").status_code == 404
        listed = partner.get("/api/v1/transactions").json()["items"]
        assert [t["description"] for t in listed] == ["rent"]
        assert partner.get("/api/v1/transactions", params={"q": "bonus"}).json()["items"] == []
        assert partner.get(f"/api/v1/transactions/{secret.json()['id']}").status_code == 404
        assert partner.post("/api/v1/transactions", json=income(private.json()["id"])).status_code == 404
        assert partner.delete(f"/api/v1/transactions/{secret.json()['id']}").status_code == 404
        transfer = {"kind": "transfer", "to_account_id": private.json()["id"]}
        assert (
            partner.post("/api/v1/transactions", json=income(shared.json()["id"]) | transfer).status_code
            == 404
        )
        mine = owner.client.get("/api/v1/accounts").json()
        assert sorted((a["name"], a["your_access"]) for a in mine) == [("Mine", "full"), ("Ours", "full")]


def test_view_annotate_and_full_access(server: Server, signup: SignUp) -> None:
    owner, partner_member, partner = household_pair(server, signup)
    with partner:
        account = owner.client.post(
            "/api/v1/accounts", json={"name": "Card", "currency": "EUR", "sharing": "view"}
        ).json()["id"]
        spent = owner.client.post("/api/v1/transactions", json=income(account)).json()["id"]
        assert partner.get(f"/api/v1/accounts/{account}").json()["your_access"] == "view"
        edit = partner.put(f"/api/v1/transactions/{spent}", json={"notes": "mine"})
        assert edit.status_code == 403
        shared = owner.client.put(
            f"/api/v1/accounts/{account}/sharing",
            json={"default": "view", "members": {partner_member.user_id: "annotate"}},
        )
        assert shared.status_code == 200, shared.text
        assert partner.put(f"/api/v1/transactions/{spent}", json={"notes": "ours"}).status_code == 200
        assert (
            partner.put(f"/api/v1/transactions/{spent}/category", json={"category": "x"}).status_code == 200
        )
        assert partner.delete(f"/api/v1/transactions/{spent}").status_code == 403  # annotate cannot cancel
        assert partner.post("/api/v1/transactions", json=income(account)).status_code == 403
        assert partner.put(f"/api/v1/accounts/{account}", json={"name": "Taken"}).status_code == 403
        grab = partner.put(f"/api/v1/accounts/{account}/sharing", json={"default": "full"})
        assert grab.status_code == 403  # only the owner decides
        owner.client.put(
            f"/api/v1/accounts/{account}/sharing",
            json={"default": "view", "members": {partner_member.user_id: "full"}},
        )
        assert partner.post("/api/v1/transactions", json=income(account)).status_code == 201
        bad = owner.client.put(f"/api/v1/accounts/{account}/sharing", json={"default": "everything"})
        assert bad.status_code == 422
