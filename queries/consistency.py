"""Read-your-writes: wait (bounded) until the read models have processed a position."""

from __future__ import annotations

import time

from psycopg.sql import SQL, Identifier

from queries.db import ReadStore

POLL_SECONDS = 0.005


class UnknownPositionError(Exception):
    """The consistency token is beyond anything the event store has recorded."""


class ProjectionLagError(Exception):
    """The read models did not reach the position within the wait budget."""


def positions(store: ReadStore, schemas: tuple[str, ...]) -> dict[str, int]:
    """The tracked position of each read model."""
    result = {}
    with store.cursor() as curs:
        for schema in schemas:
            curs.execute(SQL("SELECT notification_id FROM {}").format(Identifier(schema, "tracking")))
            row = curs.fetchone()
            result[schema] = int(row["notification_id"]) if row else 0
    return result


def head(store: ReadStore) -> int:
    """The latest position in the event store."""
    with store.cursor() as curs:
        curs.execute("SELECT coalesce(max(notification_id), 0) AS head FROM eventstore.fiscaflow_events")
        row = curs.fetchone()
        return int(row["head"]) if row else 0


def wait_for(store: ReadStore, schemas: tuple[str, ...], token: int | None, timeout: float) -> None:
    """Return once every schema has processed ``token``; never waits without a token."""
    if token is None or min(positions(store, schemas).values()) >= token:
        return
    # A token comes from a committed event, so it can never exceed the head: check once.
    if token > head(store):
        raise UnknownPositionError(f"consistency token {token} is beyond the event store's head")
    deadline = time.monotonic() + timeout
    while min(positions(store, schemas).values()) < token:
        if time.monotonic() >= deadline:
            raise ProjectionLagError(f"read models have not reached position {token} yet")
        time.sleep(POLL_SECONDS)
