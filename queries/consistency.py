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


def lag(store: ReadStore, position: int) -> tuple[int, float]:
    """How far behind the head a reader at ``position`` is: in events, and in seconds (the
    age of the oldest event it has not read yet; 0 when it is caught up)."""
    with store.cursor() as curs:
        curs.execute(
            "SELECT (SELECT coalesce(max(notification_id), 0) FROM eventstore.fiscaflow_events) AS head,"
            " (SELECT extract(epoch FROM now() - recorded_at) FROM eventstore.fiscaflow_events"
            "  WHERE notification_id > %s ORDER BY notification_id LIMIT 1) AS age",
            (position,),
        )
        row = curs.fetchone()
    if row is None:
        return 0, 0.0
    return max(int(row["head"]) - position, 0), float(row["age"] or 0.0)


def relay_position(store: ReadStore) -> int | None:
    """How far the RabbitMQ relay has published (None: no relay has run on this database)."""
    with store.cursor() as curs:
        curs.execute("SELECT to_regclass('relay.tracking') IS NOT NULL AS present")
        row = curs.fetchone()
        if not row or not row["present"]:
            return None
        curs.execute("SELECT position FROM relay.tracking WHERE name = 'rabbitmq'")
        row = curs.fetchone()
    return int(row["position"]) if row else None
