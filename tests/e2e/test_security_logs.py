"""Seeded canaries never reach the server's log: passwords, access and refresh tokens,
email addresses; and the log is JSON lines in production, console lines in development.

A server of the module's own (in development mode, and again in production mode) is used
the way a client uses it: register, log in (and fail once), refresh, record a transaction,
search, log out. Then it is stopped, so that its log is complete, and the log is searched.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import authenticated, login

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*")
EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")


@dataclass
class Canaries:
    email: str = field(default_factory=lambda: f"canary-{uuid.uuid4().hex[:12]}@example.org")
    password: str = field(default_factory=lambda: f"Canary-Password-{uuid.uuid4().hex}")
    wrong_password: str = field(default_factory=lambda: f"Canary-Wrong-{uuid.uuid4().hex}")
    too_long_password: str = field(default_factory=lambda: f"Canary-Long-{uuid.uuid4().hex}" * 4)
    description: str = field(default_factory=lambda: f"Canary-Description-{uuid.uuid4().hex}")
    account_number: str = field(default_factory=lambda: f"DE89{secrets.randbelow(10**18):018d}")
    searched_account_number: str = field(default_factory=lambda: f"DE44{secrets.randbelow(10**18):018d}")
    tokens: list[str] = field(default_factory=list)
    responses: list[httpx.Response] = field(default_factory=list)

    @property
    def secrets(self) -> dict[str, str]:
        found = {
            "password": self.password,
            "wrong password": self.wrong_password,
            "too long password": self.too_long_password,
        }
        for n, token in enumerate(self.tokens):
            found[f"token {n}"] = token
            parts = token.split(".")[1:]  # a JWT's header is the same for every token
            found |= {f"token {n} part {i}": part for i, part in enumerate(parts, 1) if len(part) > 16}
        return found


def use_like_a_client(server: Server) -> Canaries:
    c = Canaries()
    url = server.url
    sent = c.responses.append
    too_long = {"email": c.email, "password": c.too_long_password, "display_name": "Canary"}
    sent(httpx.post(f"{url}/api/v1/users/register", json=too_long))
    sent(
        httpx.post(f"{url}/api/v1/users/login", content=f'{{"email": "{c.email}", "password": "{c.password}')
    )
    registered = httpx.post(
        f"{url}/api/v1/users/register",
        json={"email": c.email, "password": c.password, "display_name": "Canary"},
    )
    assert registered.status_code == 202, registered.text
    sent(login(url, c.email, c.wrong_password))
    tokens = login(url, c.email, c.password).json()
    refreshed = httpx.post(
        f"{url}/api/v1/users/refresh-token", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    sent(httpx.post(f"{url}/api/v1/users/refresh-token", json={"refresh_token": tokens["refresh_token"]}))
    pair = login(url, c.email, c.password).json()
    c.tokens += [tokens["access_token"], tokens["refresh_token"], pair["access_token"], pair["refresh_token"]]
    c.tokens += [refreshed.json()["access_token"], refreshed.json()["refresh_token"]]
    with authenticated(url, pair["access_token"]) as client:
        opened = client.post("/api/v1/accounts", json={"name": "Canary", "currency": "EUR"})
        assert opened.status_code == 201, opened.text
        body = {"kind": "expense", "account_id": opened.json()["id"], "amount": "12.34", "date": "2026-11-02",
                "description": c.description, "notes": f"IBAN {c.account_number}"}  # fmt: skip
        assert client.post("/api/v1/transactions", json=body).status_code == 201
        assert client.get("/api/v1/transactions", params={"q": c.searched_account_number}).is_success
        change = {"current_password": c.wrong_password, "new_password": c.too_long_password}
        sent(client.put("/api/v1/users/password", json=change))
        out = client.post("/api/v1/users/logout", json={"refresh_token": pair["refresh_token"]})
        assert out.status_code == 200, out.text
        sent(client.get("/api/v1/accounts"))  # the denied access token
    return c


@dataclass(frozen=True)
class Run:
    mode: str
    log: str
    canaries: Canaries


@pytest.fixture(scope="module", params=["development", "production"])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    mode = str(request.param)
    log: Path = tmp_path_factory.mktemp(f"logs-{mode}") / "server.log"
    conninfo = create_database()
    env = {
        "DATABASE_URL": conninfo,
        "FISCAFLOW_MODE": mode,
        "FISCAFLOW_JWT_SECRET": secrets.token_urlsafe(36),
    }
    try:
        server = Server(env, log)
        try:
            canaries = use_like_a_client(server)
        finally:
            server.stop()
    finally:
        drop_database(conninfo)
    return Run(mode, log.read_text(), canaries)


def test_the_log_is_not_empty(run: Run) -> None:
    """The searches below would pass on an empty log: it holds the requests that were made."""
    assert "POST /api/v1/users/login 401" in run.log
    assert "POST /api/v1/transactions 201" in run.log


def test_no_password_or_token_is_in_the_log(run: Run) -> None:
    found = [name for name, secret in run.canaries.secrets.items() if secret in run.log]
    assert found == []
    assert "Bearer ey" not in run.log
    assert "refresh_token" not in run.log


def test_no_password_or_token_is_echoed_in_an_error_response(run: Run) -> None:
    for response in run.canaries.responses:
        assert response.status_code >= 400, response.text
        echoed = [name for name, secret in run.canaries.secrets.items() if secret in response.text]
        assert echoed == [], (response.request.url, response.text)


def test_the_email_and_the_transaction_are_not_in_the_log(run: Run) -> None:
    assert run.canaries.email not in run.log
    assert run.canaries.description not in run.log
    assert run.canaries.account_number not in run.log


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_no_token_and_no_email_address_at_all_is_in_the_log(run: Run) -> None:
    """Not even development's email-verification token (it is in the registration's answer;
    the email is base64-encoded inside it), nor any other address."""
    assert [claims_of(token)["typ"] for token in JWT.findall(run.log)] == []
    assert EMAIL.findall(run.log) == []


def test_production_logs_json_lines_and_development_console_lines(run: Run) -> None:
    lines = [line for line in run.log.splitlines() if line.strip()]
    assert len(lines) > 10
    if run.mode == "production":
        parsed = [json.loads(line) for line in lines]  # every line, uvicorn's too
        assert all(
            isinstance(line, dict) and {"event", "level", "logger", "timestamp"} <= set(line)
            for line in parsed
        )
        return
    for line in lines:
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)


def test_a_searched_account_number_is_not_in_the_log(run: Run) -> None:
    assert run.canaries.searched_account_number not in run.log
