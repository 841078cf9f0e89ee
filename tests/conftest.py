"""Shared fixtures: a fresh PostgreSQL database per test module on the real server.

Tests never mock PostgreSQL. When the server cannot be reached, tests that need it
fail under CI (CI=true) and skip with a loud reason elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import SQL, Identifier

ADMIN_URL = os.environ.get("FISCAFLOW_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _unreachable(reason: str) -> None:
    message = f"PostgreSQL at {ADMIN_URL} is not reachable: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(f"LOUD SKIP: {message}")


def create_database() -> str:
    name = f"fiscaflow_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
    except psycopg.OperationalError as error:
        _unreachable(str(error))
    params = conninfo_to_dict(ADMIN_URL)
    params["dbname"] = name
    return make_conninfo(**params)


def drop_database(conninfo: str) -> None:
    name = conninfo_to_dict(conninfo)["dbname"]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(str(name))))


@pytest.fixture
def database() -> Iterator[str]:
    """The conninfo of a new, empty database, dropped after the test."""
    conninfo = create_database()
    try:
        yield conninfo
    finally:
        drop_database(conninfo)
