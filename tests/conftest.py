"""Shared fixtures: a fresh PostgreSQL database per test module on the real server.

Tests never mock PostgreSQL. When the server cannot be reached, tests that need it
fail under CI (CI=true) and skip with a loud reason elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import NoReturn

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import SQL, Identifier

ADMIN_URL = os.environ.get("FISCAFLOW_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def in_ci() -> bool:
    """CI sets CI (to "true"; any value but empty, 0, false or no counts)."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def service_missing(message: str, declared_by: str | None = None) -> NoReturn:
    """A service a test needs cannot be reached: a failure in CI, a loud skip elsewhere.

    ``declared_by`` names a variable with which a machine says why it cannot have the
    service at all (``.ci/run`` sets them for Elasticsearch and Docker, which cannot run on
    the CI machine): then it is a loud skip under CI too, with that reason."""
    reason = os.environ.get(declared_by, "").strip() if declared_by else ""
    if reason:
        pytest.skip(f"LOUD SKIP: {message}: {reason}")
    if in_ci():
        pytest.fail(message)
    pytest.skip(f"LOUD SKIP (fails under CI): {message}")


def create_database() -> str:
    name = f"fiscaflow_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
    except psycopg.OperationalError as error:
        service_missing(f"PostgreSQL at {ADMIN_URL} is not reachable: {error}")
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
