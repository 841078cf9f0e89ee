"""Reading the event log in order, for `fiscaflow events` (and compliance staff)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import SQL

from commands.history import describe
from ledger.transcodings import event_mapper
from projections import keys
from projections.base import EVENTS_TABLE, NOTIFICATION_COLUMNS, notification

PAGE = 500


def read_events(
    conninfo: str, since: int = 0, aggregate: UUID | None = None, follow: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (position, event) after ``since``; with ``follow``, keep polling for new ones."""
    query = SQL(
        f"SELECT {NOTIFICATION_COLUMNS} FROM {{}}"  # noqa: S608 - constant column list
        " WHERE notification_id > %s AND (%s::uuid IS NULL OR originator_id = %s::uuid)"
        " ORDER BY notification_id LIMIT %s"
    ).format(SQL(EVENTS_TABLE))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        mapper = event_mapper(keys.over(conn))
        position = since
        while True:
            rows = conn.execute(query, (position, aggregate, aggregate, PAGE)).fetchall()
            for row in rows:
                yield row[0], describe(mapper.to_domain_event(notification(row)))
                position = row[0]
            if not rows:
                if not follow:
                    return
                time.sleep(0.5)
