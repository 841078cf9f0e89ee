"""Signing up and logging in over HTTP, for e2e tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "a long and unusual passphrase"


@dataclass
class Member:
    """A registered, logged-in user with an authenticated client for their household."""

    client: httpx.Client
    user_id: str
    household_id: str
    email: str
    access_token: str
    refresh_token: str
    verification_token: str | None


def login(base_url: str, email: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/v1/users/login", json={"email": email, "password": password}, timeout=10
    )


def authenticated(base_url: str, access_token: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def sign_up(base_url: str, name: str = "Ana", email: str | None = None) -> Member:
    email = email or f"{name.lower()}-{uuid.uuid4().hex[:10]}@example.org"
    registered = httpx.post(
        f"{base_url}/api/v1/users/register",
        json={"email": email, "password": PASSWORD, "display_name": name},
        timeout=10,
    )
    assert registered.status_code == 202, registered.text
    assert "user_id" in registered.json(), "development mode answers the new login's ids"
    tokens = login(base_url, email).json()
    body = registered.json()
    return Member(
        client=authenticated(base_url, tokens["access_token"]),
        user_id=body["user_id"],
        household_id=body["household_id"],
        email=email,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        verification_token=body.get("verification_token"),
    )


def verify(member: Member) -> None:
    response = member.client.post("/api/v1/users/verify-email", json={"token": member.verification_token})
    assert response.status_code == 200, response.text


def join(base_url: str, owner: Member, guest: Member, role: str = "family_member") -> httpx.Client:
    """The owner invites the guest, the guest joins and switches: a client in the owner's household."""
    invited = owner.client.post(
        f"/api/v1/households/{owner.household_id}/invitations", json={"email": guest.email, "role": role}
    )
    assert invited.status_code == 201, invited.text
    joined = guest.client.post("/api/v1/households/join", json={"token": invited.json()["token"]})
    assert joined.status_code == 200, joined.text
    switched = guest.client.post("/api/v1/users/switch-household", json={"household_id": owner.household_id})
    assert switched.status_code == 200, switched.text
    return authenticated(base_url, switched.json()["access_token"])
