"""Production mode: no interactive docs, HSTS, and registration that reveals nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server

pytestmark = pytest.mark.e2e
SECRET = "production-mode-test-secret-0123456789-abcdefghij"


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    conninfo = create_database()
    log: Path = tmp_path_factory.mktemp("production") / "server.log"
    env = {
        "DATABASE_URL": conninfo,
        "FISCAFLOW_MODE": "production",
        "FISCAFLOW_JWT_SECRET": SECRET,
        "FISCAFLOW_CORS_ORIGINS": "https://app.example.org",
        "FISCAFLOW_RATE_LIMIT": "40",
    }
    server = Server(env, log)
    try:
        yield server
    finally:
        server.stop()
        drop_database(conninfo)


@pytest.mark.reliability
def test_interactive_docs_are_off_but_the_openapi_document_is_served(production: Server) -> None:
    root = httpx.get(f"{production.url}/schema")
    assert "html" not in root.headers.get("content-type", "")  # no interactive page
    document = httpx.get(f"{production.url}/schema/openapi.json")
    assert document.status_code == 200
    assert "/api/v1/accounts" in document.json()["paths"]


def test_answers_carry_hsts_and_no_store(production: Server) -> None:
    response = httpx.get(f"{production.url}/api/v1/accounts")
    assert response.status_code == 401
    health = httpx.get(f"{production.url}/health")
    assert health.headers["Strict-Transport-Security"].startswith("max-age=")
    assert health.headers["Cache-Control"] == "no-store"


def test_registration_answers_the_same_for_new_and_taken_addresses(production: Server) -> None:
    body = {"email": "twice@example.org", "password": "a long and unusual passphrase", "display_name": "T"}
    first = httpx.post(f"{production.url}/api/v1/users/register", json=body)
    second = httpx.post(f"{production.url}/api/v1/users/register", json=body)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == second.json()
    assert set(first.json()) == {"detail"}


def test_cors_allows_only_the_configured_origins(production: Server) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allowed = httpx.options(
        f"{production.url}/api/v1/accounts", headers={"Origin": "https://app.example.org", **preflight}
    )
    assert allowed.headers.get("access-control-allow-origin") == "https://app.example.org"
    other = httpx.options(
        f"{production.url}/api/v1/accounts", headers={"Origin": "https://evil.example", **preflight}
    )
    assert other.headers.get("access-control-allow-origin") != "https://evil.example"


@pytest.mark.reliability
def test_a_request_flood_gets_429_with_retry_after(production: Server) -> None:
    """Last in this module: it spends the address's budget of 40 requests a minute."""
    statuses = []
    for _ in range(45):
        response = httpx.get(f"{production.url}/api/v1/accounts")
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) > 0
            assert response.headers["content-type"].startswith("application/problem+json")
            break
    assert statuses[-1] == 429, statuses
    assert httpx.get(f"{production.url}/health").status_code == 200  # probes are never limited
