"""An API server per e2e module, on a fresh database of the real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    conninfo = create_database()
    log: Path = tmp_path_factory.mktemp("server") / "server.log"
    running = Server({"DATABASE_URL": conninfo, "FISCAFLOW_MODE": "development"}, log)
    try:
        yield running
    finally:
        running.stop()
        drop_database(conninfo)


@pytest.fixture
def household() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def client(server: Server, household: uuid.UUID) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"X-Household-Id": str(household)}, timeout=10) as client:
        yield client
