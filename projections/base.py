"""What every projection is: a name, a schema of versioned SQL files, and one handler per event.

A projection never opens transactions itself: the runner hands it a cursor inside the
transaction that also advances the projection's tracking position, so each event is
applied exactly once, even across crashes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any, ClassVar

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.sql import SQL, Composable, Identifier

EVENTS_TABLE = "eventstore.fiscaflow_events"
# The columns every reader of the event log selects, in this order (see ``notification``).
NOTIFICATION_COLUMNS = "notification_id, originator_id, originator_version, topic, state"
# The same and then the event's who and why (commands/audit_context.py), read by ``correlation_of``.
NOTIFICATION_AND_METADATA_COLUMNS = f"{NOTIFICATION_COLUMNS}, metadata"
TRACED = ("correlation_id", "command")


def notification(row: Sequence[Any]) -> Notification:
    """A stored event as read with NOTIFICATION_COLUMNS."""
    return Notification(
        id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3], state=bytes(row[4])
    )


def correlation_of(metadata: str | None) -> dict[str, str]:
    """The correlation id and the command of an event's ``metadata`` column: what logs and
    integration messages carry to tie an event to the request or job that made it (empty
    for events stored before metadata existed)."""
    try:
        recorded = json.loads(metadata) if metadata else {}
    except ValueError:
        return {}
    if not isinstance(recorded, dict):
        return {}
    return {key: recorded[key] for key in TRACED if isinstance(recorded.get(key), str) and recorded[key]}


class UnexpectedEventError(Exception):
    """A projection was handed an event of a subscribed topic that it has no handler for."""


class Projection:
    """Base of read-model projections; subclasses register handlers on ``apply``."""

    name: ClassVar[str]
    schema_version: ClassVar[int]
    handles: ClassVar[tuple[type[Any], ...]]
    sql_package: ClassVar[str]  # where schema_v1.sql, schema_v2.sql, ... live

    # Whether the runner may pipeline a batch's statements (psycopg pipeline mode: no round
    # trip per statement). A pipelined projection checks row counts through execute_one
    # and reads results only with fetch*() (which waits for them), never curs.rowcount.
    pipelined: ClassVar[bool] = False

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.deferring = False  # set by the runner while a batch is pipelined
        self._checks: list[tuple[Cursor[Any], str, int]] = []

    def execute_one(self, curs: Cursor[Any], query: Any, params: Any, missing: str) -> None:
        """Execute a statement that must change exactly one row, else LookupError(missing):
        at once, or when the pipelined batch has been sent (on a cursor of its own, which
        keeps the count)."""
        if not self.deferring:
            curs.execute(query, params)
            if curs.rowcount != 1:
                raise LookupError(missing)
            return
        own = curs.connection.cursor()
        own.execute(query, params)
        self._checks.append((own, missing, 1))

    def execute_count(self, curs: Cursor[Any], query: Any, params: Any, expected: int, missing: str) -> None:
        """Execute a statement that must change ``expected`` rows, else LookupError(missing)
        (now, or once a pipelined batch has been sent, as execute_one)."""
        own = curs.connection.cursor()
        own.execute(query, params)
        self._checks.append((own, missing, expected))
        if not self.deferring:
            self.check_deferred()

    def flush(self, curs: Cursor[Any]) -> None:
        """Write what the projection buffered (nothing here): the runner calls it after the
        batch's last event, before it advances the tracking position."""

    def discard(self) -> None:
        """Forget what a failed batch buffered or left to check (its transaction rolled back)."""
        self._checks = []

    def check_deferred(self) -> None:
        """After a pipelined batch was sent: every execute_one changed its one row."""
        checks, self._checks = self._checks, []
        for own, missing, expected in checks:
            count = own.rowcount
            own.close()
            if count != expected:
                raise LookupError(missing)

    @classmethod
    def default_schema(cls) -> str:
        return f"read_{cls.name}"

    @classmethod
    def topics(cls) -> frozenset[str]:
        return frozenset(get_topic(t) for t in cls.handles)

    @classmethod
    def ddl(cls, schema: str) -> list[Composable]:
        """The CREATE statements of the read model, from its versioned SQL files."""
        package = resources.files(cls.sql_package)
        statements = []
        for version in range(1, cls.schema_version + 1):
            text = (package / f"schema_v{version}.sql").read_text()
            for statement in text.split(";"):
                if statement.strip():
                    statements.append(SQL(statement).format(schema=Identifier(schema)))  # type: ignore[arg-type]
        return statements

    def table(self, name: str) -> Identifier:
        return Identifier(self.schema, name)

    def update_row(
        self, curs: Cursor[Any], table: str, key: str, e: Any, assignments: str, *values: Any
    ) -> None:
        """Change the aggregate's row (``key`` = its id) and stamp it with the event's version
        and time; the row must be there (a gap in the events would be a bug)."""
        self.execute_one(
            curs,
            f"UPDATE {self.schema}.{table} SET {assignments}, version = %s, updated_at = %s"  # noqa: S608
            f" WHERE {key} = %s",
            (*values, e.originator_version, e.timestamp, e.originator_id),
            f"{table} row {e.originator_id} is not in the read model {self.name}",
        )

    def apply(self, event: DomainEventProtocol[Any], curs: Cursor[Any]) -> None:
        """Apply one event inside the runner's transaction (a singledispatchmethod in subclasses)."""
        raise NotImplementedError

    def unexpected(self, event: object) -> None:
        raise UnexpectedEventError(f"{self.name} has no handler for {get_topic(type(event))}")
