"""Who and why on every event appended over HTTP: actor, household, the request's
correlation id (echoed as X-Request-ID), the command and a keyed hash of the client address;
and the served log verifies as intact with `fiscaflow audit verify`."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import psycopg
import pytest

from tests.e2e.server import Server
from tests.e2e.users import Member

pytestmark = pytest.mark.e2e


def test_events_carry_who_and_why(server: Server, member: Member) -> None:
    client = member.client
    opened = client.post(
        "/api/v1/accounts", json={"name": "Audit", "currency": "EUR"}, headers={"X-Request-ID": "req-42.a_b"}
    )
    assert opened.status_code == 201, opened.text
    assert opened.headers["X-Request-ID"] == "req-42.a_b"
    generated = client.get("/api/v1/accounts").headers["X-Request-ID"]
    assert len(generated) == 32  # none sent, so one was made
    bad = client.post(
        "/api/v1/accounts", json={"name": "X", "currency": "EUR"}, headers={"X-Request-ID": "a b;c"}
    )
    assert bad.headers["X-Request-ID"] != "a b;c"
    with psycopg.connect(server.conninfo) as conn:
        (metadata,) = conn.execute(
            "SELECT metadata FROM eventstore.fiscaflow_events WHERE originator_id = %s",
            (opened.json()["id"],),
        ).fetchone()  # type: ignore[misc]
    who = json.loads(metadata)
    assert who["actor"] == member.user_id and who["household"] == member.household_id
    assert (who["correlation_id"], who["command"]) == ("req-42.a_b", "openAccount")
    assert len(who["client"]) == 32 and "127.0.0.1" not in metadata


def test_the_served_log_verifies_as_intact(server: Server, member: Member) -> None:
    member.client.post("/api/v1/accounts", json={"name": "More", "currency": "EUR"})
    result = subprocess.run(
        [sys.executable, "-m", "ops", "audit", "checkpoint"],
        env={"DATABASE_URL": server.conninfo, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    verified = subprocess.run(
        [sys.executable, "-m", "ops", "audit", "verify"],
        env={"DATABASE_URL": server.conninfo, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "the event log is intact" in verified.stdout + verified.stderr
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_events_of_an_operators_cli_command_say_which(server: Server, member: Member) -> None:
    """An operator's CLI command records itself as the command, with no user and a
    correlation id of its own (background jobs: tests/integration/test_periodic_audit.py)."""
    result = subprocess.run(
        [sys.executable, "-m", "ops", "users", "set-role", member.email, "premium"],
        env={"DATABASE_URL": server.conninfo, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        (role,) = conn.execute(
            "SELECT metadata FROM eventstore.fiscaflow_events WHERE originator_id = %s"
            " AND topic = 'ledger.user:User.RoleChanged'",
            (member.user_id,),
        ).fetchone()  # type: ignore[misc]
    who = json.loads(role)
    assert who["command"].startswith("cli:") and who["command"].endswith("users set-role"), who
    assert who["actor"] is None and len(who["correlation_id"]) == 32
