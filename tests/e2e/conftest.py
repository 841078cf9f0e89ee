"""An API server per e2e module, on a fresh database of the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import Member, sign_up


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    conninfo = create_database()
    log: Path = tmp_path_factory.mktemp("server") / "server.log"
    # Every request of a module comes from 127.0.0.1: lift the per-address limit (tested elsewhere).
    home = tmp_path_factory.mktemp("home")
    env = {
        "DATABASE_URL": conninfo,
        "FISCAFLOW_MODE": "development",
        "FISCAFLOW_RATE_LIMIT": "100000",
        "FISCAFLOW_HOME": str(home),  # receipts and large exports land in its folder store
        "FISCAFLOW_EXPORT_INLINE_ROWS": "50",
        "FISCAFLOW_MAX_RECEIPT_BYTES": "2000000",
    }
    running = Server(env, log)
    running.conninfo = conninfo
    try:
        yield running
    finally:
        running.stop()
        drop_database(conninfo)


@pytest.fixture
def member(server: Server) -> Iterator[Member]:
    """A freshly registered user, logged in, in their own household."""
    signed_up = sign_up(server.url)
    with signed_up.client:
        yield signed_up


@pytest.fixture
def client(member: Member) -> httpx.Client:
    return member.client


@pytest.fixture
def signup(server: Server) -> Iterator[Callable[..., Member]]:
    """Sign up as many users as a test needs; their clients are closed afterwards."""
    members: list[Member] = []

    def make(name: str = "Ana", email: str | None = None) -> Member:
        members.append(sign_up(server.url, name, email))
        return members[-1]

    yield make
    for member in members:
        member.client.close()
