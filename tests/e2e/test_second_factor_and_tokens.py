"""TOTP two-factor logins and personal access tokens, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pyotp
import pytest

from tests.e2e.server import Server
from tests.e2e.users import PASSWORD, Member, authenticated, login

pytestmark = pytest.mark.e2e
SignUp = Callable[..., Member]


def server_post(server: Server, path: str, body: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, timeout=10)


def code_at(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def test_two_factor_enrolment_login_recovery_and_removal(server: Server, signup: SignUp) -> None:
    member = signup("Secure")
    enrolment = member.client.post("/api/v1/users/2fa").json()
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/")
    assert member.client.post("/api/v1/users/2fa/confirm", json={"code": "000000"}).status_code == 409
    first_code = code_at(enrolment["secret"])
    confirmed = member.client.post("/api/v1/users/2fa/confirm", json={"code": first_code})
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recovery_codes"]
    assert len(recovery) == 10

    challenge = login(server.url, member.email).json()
    assert set(challenge) == {"type", "mfa_token"}  # no tokens before the second factor
    assert challenge["type"] == "second-factor"
    finish = {"mfa_token": challenge["mfa_token"]}
    reused = server_post(server, "/api/v1/users/login/2fa", finish | {"code": first_code})
    assert reused.status_code == 401  # the confirmation spent that code's time step
    fresh = server_post(server, "/api/v1/users/login/2fa", finish | {"code": code_at(enrolment["secret"], 1)})
    assert fresh.status_code == 200, fresh.text
    assert set(fresh.json()) >= {"access_token", "refresh_token"}

    again = login(server.url, member.email).json()
    by_recovery = server_post(
        server, "/api/v1/users/login/2fa", {"mfa_token": again["mfa_token"], "code": recovery[0]}
    )
    assert by_recovery.status_code == 200
    once_more = login(server.url, member.email).json()
    spent = server_post(
        server, "/api/v1/users/login/2fa", {"mfa_token": once_more["mfa_token"], "code": recovery[0]}
    )
    assert spent.status_code == 401  # a recovery code works once

    with authenticated(server.url, by_recovery.json()["access_token"]) as client:
        assert client.post("/api/v1/users/2fa/disable", json={"code": "123456"}).status_code == 403
        assert client.post("/api/v1/users/2fa/disable", json={"code": recovery[1]}).status_code == 200
    assert set(login(server.url, member.email).json()) >= {"access_token"}
    assert "mfa_token" not in login(server.url, member.email, PASSWORD).json()


def test_personal_access_tokens_are_scoped_and_revocable(server: Server, signup: SignUp) -> None:
    member = signup("Scripter")
    reader = member.client.post("/api/v1/users/tokens", json={"name": "report", "scopes": ["read"]}).json()
    writer = member.client.post(
        "/api/v1/users/tokens", json={"name": "import", "scopes": ["read", "write"], "expires_in_days": 7}
    ).json()
    assert reader["token"].startswith("ffpat_")
    with authenticated(server.url, reader["token"]) as script:
        assert script.get("/api/v1/accounts").status_code == 200
        assert script.post("/api/v1/accounts", json={"name": "X", "currency": "EUR"}).status_code == 403
        assert script.get("/api/v1/users/profile").status_code == 403  # never identity routes
        assert script.post("/api/v1/users/tokens", json={"name": "x", "scopes": ["read"]}).status_code == 403
    with authenticated(server.url, writer["token"]) as script:
        assert (
            script.post("/api/v1/accounts", json={"name": "Scripted", "currency": "EUR"}).status_code == 201
        )
    listed = member.client.get("/api/v1/users/tokens").json()
    assert [(t["name"], t["scopes"], t["revoked"]) for t in listed] == [
        ("report", ["read"], False),
        ("import", ["read", "write"], False),
    ]
    assert all("token" not in t for t in listed)
    assert member.client.delete(f"/api/v1/users/tokens/{reader['id']}").status_code == 204
    with authenticated(server.url, reader["token"]) as script:
        assert script.get("/api/v1/accounts").status_code == 401
    with authenticated(server.url, "ffpat_" + "x" * 43) as forged:
        assert forged.get("/api/v1/accounts").status_code == 401
