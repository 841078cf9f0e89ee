"""Runs a projection: reads events after its tracked position and applies them in batches.

Each batch is one database transaction that takes the projection's advisory lock,
reads the tracked position, applies the next events and records the new position.
Two runners of one projection therefore never apply an event twice, and a killed
runner loses at most an uncommitted batch, which the next run applies again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import psycopg
import structlog
from opentelemetry import trace
from psycopg.sql import SQL, Identifier

from ledger.transcodings import event_mapper
from projections import keys
from projections.base import (
    EVENTS_TABLE,
    NOTIFICATION_AND_METADATA_COLUMNS,
    Projection,
    correlation_of,
    notification,
)

APPLICATION_NAME = "FiscaFlow"
NOTIFY_CHANNEL = "fiscaflow_events"

TRACER = trace.get_tracer("fiscaflow.projections")


class ProjectionFailedError(Exception):
    """Applying an event failed; the projection stops at that event instead of skipping it.
    ``correlation`` is the event's correlation id and command, for whoever logs the failure."""

    def __init__(self, message: str, correlation: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.correlation = correlation or {}


def lock_key(projection_name: str) -> str:
    return f"fiscaflow.projection.{projection_name}"


def take_lock(curs: psycopg.Cursor[Any], projection_name: str) -> None:
    """The projection's advisory lock, held until the transaction ends."""
    curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock_key(projection_name),))


def connect(conninfo: str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    # prepare_threshold=None: statements name tables by schema at every execution, so a
    # rebuild that swaps schemas is picked up by running projectors.
    return psycopg.connect(conninfo, autocommit=autocommit, prepare_threshold=None)


def ensure_schema(conn: psycopg.Connection[Any], projection: type[Projection], schema: str) -> None:
    """Create the read model's schema, tables and tracking table if missing."""
    with conn.transaction(), conn.cursor() as curs:
        take_lock(curs, projection.name)
        curs.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))
        curs.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (application_name text PRIMARY KEY,"
                " notification_id bigint NOT NULL, schema_version int NOT NULL)"
            ).format(Identifier(schema, "tracking"))
        )
        for statement in projection.ddl(schema):
            curs.execute(statement)
        curs.execute(
            SQL("INSERT INTO {} VALUES (%s, 0, %s) ON CONFLICT (application_name) DO NOTHING").format(
                Identifier(schema, "tracking")
            ),
            (APPLICATION_NAME, projection.schema_version),
        )


class ProjectionRunner:
    """Applies events to one projection's read model, batch by batch."""

    def __init__(
        self,
        projection: type[Projection],
        conninfo: str,
        *,
        schema: str | None = None,
        batch_size: int = 500,
        lock: bool = True,
    ) -> None:
        self.projection = projection(schema or projection.default_schema())
        self.conninfo = conninfo
        self.batch_size = batch_size
        self.lock = lock
        self.topics = projection.topics()
        self.conn = connect(conninfo)
        self.mapper = event_mapper(keys.over(self.conn))
        # The events of one append share their metadata: its correlation is parsed once.
        self._metadata: Any = None
        self._correlation: dict[str, str] = {}
        ensure_schema(self.conn, projection, self.projection.schema)

    def close(self) -> None:
        self.conn.close()

    def run_batch(self, stop: int | None = None, stopping: threading.Event | None = None) -> int:
        """Apply the next batch of events (up to ``stop``); return how many were read. Once
        ``stopping`` is set, the batch ends after the event being applied (and commits)."""
        with self.conn.transaction(), self.conn.cursor() as curs:
            if self.lock:
                take_lock(curs, self.projection.name)
            return self.apply_batch(curs, stop, stopping)

    def apply_batch(
        self, curs: psycopg.Cursor[Any], stop: int | None = None, stopping: threading.Event | None = None
    ) -> int:
        """Inside the caller's transaction: apply the next events and advance tracking."""
        position = self._position(curs)
        rows = self._read(curs, position, stop)
        if not rows:
            return 0  # an idle poll: no span
        attributes = {
            "fiscaflow.projection": self.projection.name,
            "fiscaflow.events": len(rows),
            "fiscaflow.position.first": rows[0][0],
            "fiscaflow.position.last": rows[-1][0],
        }
        applied, done = 0, False
        projection = self.projection
        with TRACER.start_as_current_span("project batch", attributes=attributes):
            try:
                # Pipelined: the batch's statements go out without a round trip each.
                with curs.connection.pipeline() if projection.pipelined else nullcontext():
                    projection.deferring = projection.pipelined
                    for row in rows:
                        if applied and stopping is not None and stopping.is_set():
                            break  # SIGTERM: stop after the current event, with it tracked
                        if row[3] in self.topics:
                            self._apply(curs, row)
                        applied += 1
                    projection.flush(curs)
                    self._track(curs, rows[applied - 1][0])
                projection.check_deferred()
                done = True
            except psycopg.Error as error:  # a pipelined statement failed when the batch was sent
                raise ProjectionFailedError(
                    f"projection {projection.name} failed in the events {rows[0][0]} to"
                    f" {rows[applied - 1][0]}: {error!r}",
                    {},
                ) from error
            except LookupError as error:
                raise ProjectionFailedError(f"projection {projection.name} failed: {error}", {}) from error
            finally:
                projection.deferring = False
                if not done:
                    projection.discard()  # rolled back: nothing buffered or to check is kept
        return applied

    def _position(self, curs: psycopg.Cursor[Any]) -> int:
        curs.execute(
            SQL("SELECT notification_id FROM {} WHERE application_name = %s").format(
                self.projection.table("tracking")
            ),
            (APPLICATION_NAME,),
        )
        row = curs.fetchone()
        return int(row[0]) if row else 0

    def _read(self, curs: psycopg.Cursor[Any], position: int, stop: int | None) -> list[Any]:
        curs.execute(
            SQL(
                f"SELECT {NOTIFICATION_AND_METADATA_COLUMNS}"  # noqa: S608 - constant column list
                " FROM {} WHERE notification_id > %s AND notification_id <= %s"
                " ORDER BY notification_id LIMIT %s"
            ).format(SQL(EVENTS_TABLE)),
            (position, stop if stop is not None else 2**62, self.batch_size),
        )
        return curs.fetchall()

    def _apply(self, curs: psycopg.Cursor[Any], row: Any) -> None:
        """Apply one event with its correlation id and command bound to the log lines."""
        if row[5] != self._metadata:
            self._metadata, self._correlation = row[5], correlation_of(row[5])
        stored, correlation = notification(row), self._correlation
        bound = structlog.contextvars.bind_contextvars(**correlation)
        try:
            event = self.mapper.to_domain_event(stored)
            self.projection.apply(event, curs)
        except Exception as error:
            raise ProjectionFailedError(
                f"projection {self.projection.name} failed on event {stored.id}"
                f" ({stored.topic} of {stored.originator_id}"
                f" v{stored.originator_version}): {error!r}",
                dict(correlation),  # a copy: the next events of the append share the parsed one
            ) from error
        finally:
            structlog.contextvars.reset_contextvars(**bound)

    def _track(self, curs: psycopg.Cursor[Any], notification_id: int) -> None:
        curs.execute(
            SQL("UPDATE {} SET notification_id = %s WHERE application_name = %s").format(
                self.projection.table("tracking")
            ),
            (notification_id, APPLICATION_NAME),
        )

    def position(self) -> int:
        with self.conn.transaction(), self.conn.cursor() as curs:
            return self._position(curs)

    def catch_up(self, stop: int | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Apply events until none are left (or ``stop`` is reached); return how many."""
        total = 0
        while count := self.run_batch(stop):
            total += count
            if progress is not None:
                progress(count)
        return total

    def run_until(self, stopping: threading.Event, poll_interval: float = 1.0) -> None:
        """Follow the event store until ``stopping`` is set: catch up, then wait for NOTIFY."""
        with connect(self.conninfo, autocommit=True) as listener:
            listener.execute(SQL("LISTEN {}").format(Identifier(NOTIFY_CHANNEL)))
            while not stopping.is_set():
                if self.run_batch(stopping=stopping):
                    continue
                for _ in listener.notifies(timeout=poll_interval, stop_after=1):
                    pass
