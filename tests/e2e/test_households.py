"""Households and roles over HTTP: invite, join, switch, read-only, remove, admins."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.e2e.server import Server
from tests.e2e.users import Member, authenticated, join, login, verify

SignUp = Callable[..., Member]

pytestmark = pytest.mark.e2e


def set_role(server: Server, email: str, role: str) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FISCAFLOW_")}
    result = subprocess.run(
        [sys.executable, "-m", "ops", "users", "set-role", email, role],
        env=environment | {"DATABASE_URL": server.conninfo},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_an_invited_member_joins_switches_and_shares_the_books(server: Server, signup: SignUp) -> None:
    owner, partner = signup("Owner"), signup("Partner")
    verify(partner)
    opened = owner.client.post("/api/v1/accounts", json={"name": "Joint", "currency": "EUR"})
    with join(server.url, owner, partner) as shared:
        seen = shared.get("/api/v1/accounts", params={"after": opened.headers["X-Consistency-Token"]}).json()
        assert [a["name"] for a in seen] == ["Joint"]
        recorded = shared.post(
            "/api/v1/transactions",
            json={
                "kind": "income",
                "account_id": opened.json()["id"],
                "amount": "10.00",
                "date": "2026-11-01",
            },
        )
        assert recorded.status_code == 201
    households = partner.client.get("/api/v1/households", headers={"X-Consistency-Token": "1"}).json()
    assert sorted(h["role"] for h in households) == ["family_member", "family_owner"]
    # The partner's own household still holds nothing of the owner's.
    assert partner.client.get("/api/v1/accounts").json() == []


def test_joining_needs_a_verified_email_and_the_invited_address(server: Server, signup: SignUp) -> None:
    owner, guest, other = (
        signup("Owner"),
        signup("Guest"),
        signup("Other"),
    )
    invited = owner.client.post(
        f"/api/v1/households/{owner.household_id}/invitations", json={"email": guest.email}
    ).json()
    assert guest.client.post("/api/v1/households/join", json={"token": invited["token"]}).status_code == 403
    verify(other)
    assert other.client.post("/api/v1/households/join", json={"token": invited["token"]}).status_code == 409
    verify(guest)
    assert guest.client.post("/api/v1/households/join", json={"token": invited["token"]}).status_code == 200
    again = guest.client.post("/api/v1/households/join", json={"token": invited["token"]})
    assert again.status_code == 409  # an invitation is spent once used
    forged = invited["token"][:-2] + ("AA" if not invited["token"].endswith("AA") else "BB")
    assert guest.client.post("/api/v1/households/join", json={"token": forged}).status_code == 401


def test_a_read_only_member_may_read_but_not_write(server: Server, signup: SignUp) -> None:
    owner, viewer = signup("Owner"), signup("Viewer")
    verify(viewer)
    account = owner.client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()["id"]
    with join(server.url, owner, viewer, role="read_only") as reader:
        assert reader.get("/api/v1/accounts").status_code == 200
        attempts = [
            reader.post("/api/v1/accounts", json={"name": "Mine", "currency": "EUR"}),
            reader.put(f"/api/v1/accounts/{account}", json={"name": "Renamed"}),
            reader.post(
                "/api/v1/transactions",
                json={"kind": "expense", "account_id": account, "amount": "1.00", "date": "2026-11-01"},
            ),
            reader.post(
                f"/api/v1/households/{owner.household_id}/invitations", json={"email": "x@example.org"}
            ),
        ]
        assert [r.status_code for r in attempts] == [403, 403, 403, 403]
        assert all(r.json()["type"].endswith("/forbidden") for r in attempts)
    assert [a["name"] for a in owner.client.get("/api/v1/accounts").json()] == ["Main"]


def test_a_member_cannot_manage_and_the_last_owner_cannot_leave(server: Server, signup: SignUp) -> None:
    owner, member = signup("Owner"), signup("Member")
    verify(member)
    with join(server.url, owner, member) as shared:
        invite = shared.post(
            f"/api/v1/households/{owner.household_id}/invitations", json={"email": "y@example.org"}
        )
        assert invite.status_code == 403
        demote = shared.put(
            f"/api/v1/households/{owner.household_id}/members/{owner.user_id}", json={"role": "read_only"}
        )
        assert demote.status_code == 403
    leaving = owner.client.delete(f"/api/v1/households/{owner.household_id}/members/{owner.user_id}")
    assert leaving.status_code == 409


def test_a_removed_members_tokens_stop_working_at_once(server: Server, signup: SignUp) -> None:
    owner, member = signup("Owner"), signup("Member")
    verify(member)
    with join(server.url, owner, member) as shared:
        assert shared.get("/api/v1/accounts").status_code == 200
        removed = owner.client.delete(f"/api/v1/households/{owner.household_id}/members/{member.user_id}")
        assert removed.status_code == 200, removed.text
        assert shared.get("/api/v1/accounts").status_code == 401
    assert member.client.get("/api/v1/accounts").status_code == 401  # every session of the member
    fresh = login(server.url, member.email).json()
    with authenticated(server.url, fresh["access_token"]) as again:
        switch = again.post("/api/v1/users/switch-household", json={"household_id": owner.household_id})
        assert switch.status_code == 404


@pytest.mark.reliability
def test_admin_functions_are_403_for_others_and_work_for_admins(server: Server, signup: SignUp) -> None:
    plain, target = signup("Plain"), signup("Target")
    privileged = [
        plain.client.get("/api/v1/users"),
        plain.client.put(f"/api/v1/users/{target.user_id}/role", json={"role": "admin"}),
        plain.client.post(f"/api/v1/users/{target.user_id}/suspend", json={"reason": "x"}),
        plain.client.post(f"/api/v1/users/{target.user_id}/reinstate"),
    ]
    assert [r.status_code for r in privileged] == [403, 403, 403, 403]
    assert plain.client.delete(f"/api/v1/users/{target.user_id}").status_code == 404

    admin = signup("Admin")
    set_role(server, admin.email, "admin")
    tokens = login(server.url, admin.email).json()
    with authenticated(server.url, tokens["access_token"]) as boss:
        assert boss.get("/api/v1/users", headers={"X-Consistency-Token": "1"}).status_code == 200
        assert (
            boss.post(f"/api/v1/users/{target.user_id}/suspend", json={"reason": "fraud"}).status_code == 200
        )
        assert target.client.get("/api/v1/accounts").status_code == 401
        assert login(server.url, target.email).status_code == 401
        assert boss.post(f"/api/v1/users/{target.user_id}/reinstate").status_code == 200
        assert login(server.url, target.email).status_code == 200


def test_profile_and_self_deletion(server: Server, signup: SignUp) -> None:
    member = signup("Self")
    updated = member.client.put("/api/v1/users/profile", json={"display_name": "Selfie"})
    assert updated.status_code == 200
    profile = member.client.get(
        "/api/v1/users/profile", headers={"X-Consistency-Token": updated.headers["X-Consistency-Token"]}
    )
    assert profile.json()["display_name"] == "Selfie"
    assert "password" not in profile.text
    assert member.client.delete(f"/api/v1/users/{member.user_id}").status_code == 200
    assert member.client.get("/api/v1/accounts").status_code == 401
    assert login(server.url, member.email).status_code == 401
    assert signup("Self", email=member.email).user_id != member.user_id
