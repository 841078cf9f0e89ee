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


def lags(store: ReadStore, readers: dict[str, int]) -> dict[str, tuple[int, float]]:
    """How far behind the head each reader (name -> its position) is, in one round trip:
    in events, and in seconds (the age of the oldest event it has not read yet; 0 when it
    is caught up)."""
    names = list(readers)
    with store.cursor() as curs:
        curs.execute(
            "SELECT r.name, greatest(h.head - r.position, 0) AS events,"
            " coalesce((SELECT extract(epoch FROM now() - e.recorded_at)"
            "  FROM eventstore.fiscaflow_events e WHERE e.notification_id > r.position"
            "  ORDER BY e.notification_id LIMIT 1), 0) AS age"
            " FROM unnest(%s::text[], %s::bigint[]) AS r(name, position),"
            " (SELECT coalesce(max(notification_id), 0) AS head FROM eventstore.fiscaflow_events) AS h",
            (names, [readers[name] for name in names]),
        )
        return {row["name"]: (int(row["events"]), float(row["age"])) for row in curs.fetchall()}


def lag(store: ReadStore, position: int) -> tuple[int, float]:
    """How far behind the head a reader at ``position`` is (see ``lags``)."""
    return lags(store, {"reader": position})["reader"]


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
