"""The README's first command: `fiscaflow serve` with no settings runs on embedded PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.server import Server
from tests.e2e.users import authenticated, sign_up

pytestmark = pytest.mark.e2e


def postgres_processes(home: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and any(str(home) in part for part in cmdline):
            found.append(process)
    return found


def test_embedded_default_serves_keeps_data_across_restarts_and_stops_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"FISCAFLOW_HOME": str(home)}
    first = Server(env, tmp_path / "first.log")
    member = sign_up(first.url)
    opened = member.client.post("/api/v1/accounts", json={"name": "Cash", "currency": "JPY"})
    member.client.close()
    assert opened.status_code == 201, opened.text
    assert first.stop() == 0
    assert postgres_processes(home) == []  # nothing left behind
    assert "embedded PostgreSQL ready" in (tmp_path / "first.log").read_text()

    second = Server(env, tmp_path / "second.log")
    try:
        # The access token from before the restart still works: the key is kept in $FISCAFLOW_HOME.
        with authenticated(second.url, member.access_token) as client:
            listed = client.get("/api/v1/accounts").json()
        assert [(a["name"], a["currency"], a["balance"]) for a in listed] == [("Cash", "JPY", "0")]
        ready = httpx.get(f"{second.url}/ready").json()
        assert ready["status"] == "ready"
    finally:
        assert second.stop() == 0
    assert postgres_processes(home) == []
