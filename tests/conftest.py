"""Shared fixtures: a fresh PostgreSQL database per test module on the real server.

Tests never mock PostgreSQL. When the server cannot be reached, tests that need it
fail under CI (CI=true) and skip with a loud reason elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn, Protocol, TypeVar

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import SQL, Identifier

ADMIN_URL = os.environ.get("FISCAFLOW_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def in_ci() -> bool:
    """CI sets CI (to "true"; any value but empty, 0, false or no counts)."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def service_missing(message: str) -> NoReturn:
    """A service a test needs cannot be reached: a failure in CI, a loud skip elsewhere."""
    if not in_ci():
        pytest.skip(f"LOUD SKIP (fails under CI): {message}")
    pytest.fail(message)


# Services a machine may say it cannot have at all, by the marker of the tests that need
# them and the variable that says why (.ci/run sets it: no Elasticsearch can run on the CI
# machine). Those tests are then deselected, and the session's summary says so with the
# reason; a test that is collected and misses its service fails under CI like any other.
UNAVAILABLE = {"elasticsearch": "FISCAFLOW_TEST_NO_ELASTICSEARCH"}


class Marked(Protocol):
    def get_closest_marker(self, name: str) -> Any: ...


Item = TypeVar("Item", bound=Marked)


def declared_unavailable(
    items: list[Item], env: Mapping[str, str]
) -> tuple[list[Item], dict[str, tuple[str, list[Item]]]]:
    """The items to run, and by marker: the reason and the items deselected for it."""
    kept: list[Item] = []
    dropped: dict[str, tuple[str, list[Item]]] = {}
    for item in items:
        marker = next((m for m in UNAVAILABLE if item.get_closest_marker(m) is not None), None)
        reason = env.get(UNAVAILABLE[marker], "").strip() if marker else ""
        if marker is None or not reason:
            kept.append(item)
        else:
            dropped.setdefault(marker, (reason, []))[1].append(item)
    return kept, dropped


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped = declared_unavailable(items, os.environ)
    if dropped:
        config.hook.pytest_deselected(items=[i for _, group in dropped.values() for i in group])
        items[:] = kept
        config.stash[DROPPED] = dropped


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for marker, (reason, group) in config.stash.get(DROPPED, {}).items():
        terminalreporter.write_line(
            f"DESELECTED {len(group)} tests marked {marker}: {reason} ({UNAVAILABLE[marker]})", yellow=True
        )


DROPPED = pytest.StashKey[dict[str, tuple[str, list[pytest.Item]]]]()


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
