"""The audit trail, read from the event log itself: events filtered by aggregate, actor,
household, type and time, paged by position; an aggregate's history with its state after
each event; and its state as it was at a time or a version (an account's balance then).

This reads the events table (read-only), not a read model: what compliance staff see is
what is stored. Password hashes are never shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from ledger.errors import InvalidInputError, NotFoundError
from ledger.transcodings import event_mapper
from projections.base import notification
from projections.relay.messages import plain
from queries.db import ReadStore

EVENTS = "eventstore.fiscaflow_events"
COLUMNS = "notification_id, originator_id, originator_version, topic, state, metadata, recorded_at"
HIDDEN = frozenset({"password_hash"})
MAX_LIMIT = 500
MAPPER = event_mapper()  # for events without personal data (reads.mapper has the keys)


class AuditEvent(msgspec.Struct, kw_only=True):
    position: int
    aggregate_id: UUID
    version: int
    type: str
    topic: str
    recorded_at: dt.datetime  # when the database stored it
    timestamp: dt.datetime  # when the command decided it
    metadata: dict[str, Any] | None  # who and why: actor, household, correlation id, command, client
    data: dict[str, Any]


class EventPage(msgspec.Struct, kw_only=True):
    items: list[AuditEvent]
    next_after: int | None  # pass as ``after`` for the next page


class HistoryEntry(msgspec.Struct, kw_only=True):
    event: AuditEvent
    state: dict[str, Any]  # the aggregate after this event


class AggregateState(msgspec.Struct, kw_only=True):
    aggregate_id: UUID
    type: str
    version: int
    modified_at: dt.datetime
    state: dict[str, Any]


@dataclass(frozen=True)
class EventFilter:
    aggregate_id: UUID | None = None
    actor: UUID | None = None
    household_id: UUID | None = None
    type: str | None = None  # e.g. Transaction.Recorded
    recorded_from: dt.datetime | None = None
    recorded_to: dt.datetime | None = None


def _clauses(f: EventFilter) -> tuple[list[str], list[Any]]:
    household = (  # the event's own household field (a stored UUID is its hex), or the household itself
        "(convert_from(state, 'UTF8')::jsonb -> 'household_id' ->> '_data_' = %s OR originator_id = %s::uuid)"
    )
    optional = (
        ("originator_id = %s", (f.aggregate_id,)),
        ("metadata::jsonb ->> 'actor' = %s", (str(f.actor) if f.actor else None,)),
        (household, (f.household_id.hex if f.household_id else None, f.household_id)),
        ("topic LIKE %s", (f"%:{f.type}" if f.type else None,)),
        ("recorded_at >= %s", (f.recorded_from,)),
        ("recorded_at <= %s", (f.recorded_to,)),
    )
    clauses, params = [], []
    for clause, values in optional:
        if values[0] is not None:
            clauses.append(clause)
            params.extend(values)
    return clauses, params


def _event(row: dict[str, Any], decoded: Any) -> AuditEvent:
    fields = {k: v for k, v in vars(decoded).items() if k not in HIDDEN}
    data = {
        k: plain(v)
        for k, v in fields.items()
        if k not in {"originator_id", "originator_version", "timestamp"}
    }
    return AuditEvent(
        position=row["notification_id"],
        aggregate_id=row["originator_id"],
        version=row["originator_version"],
        type=row["topic"].partition(":")[2],
        topic=row["topic"],
        recorded_at=row["recorded_at"],
        timestamp=decoded.timestamp,
        metadata=json.loads(row["metadata"]) if row["metadata"] else None,
        data=data,
    )


def _decode(reads: ReadStore, row: dict[str, Any]) -> Any:
    """The domain event of a row, personal data readable unless erased."""
    return reads.mapper.to_domain_event(
        notification(
            (
                row["notification_id"],
                row["originator_id"],
                row["originator_version"],
                row["topic"],
                row["state"],
            )
        )
    )


def events(reads: ReadStore, f: EventFilter, after: int, limit: int) -> EventPage:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit is 1 to {MAX_LIMIT}")
    clauses, params = _clauses(f)
    where = " AND ".join(["notification_id > %s", *clauses])
    with reads.cursor() as curs:
        curs.execute(
            f"SELECT {COLUMNS} FROM {EVENTS} WHERE {where} ORDER BY notification_id LIMIT %s",  # noqa: S608
            (after, *params, limit + 1),
        )
        rows = curs.fetchall()
    items = [_event(row, _decode(reads, row)) for row in rows[:limit]]
    return EventPage(items=items, next_after=items[-1].position if len(rows) > limit else None)


def _rows(reads: ReadStore, aggregate_id: UUID) -> list[dict[str, Any]]:
    with reads.cursor() as curs:
        curs.execute(
            f"SELECT {COLUMNS} FROM {EVENTS} WHERE originator_id = %s ORDER BY originator_version",  # noqa: S608
            (aggregate_id,),
        )
        rows = curs.fetchall()
    if not rows:
        raise NotFoundError(f"no aggregate {aggregate_id} in the event log")
    return rows


def _state(aggregate: Any) -> dict[str, Any]:
    return {k: plain(v) for k, v in vars(aggregate).items() if not k.startswith("_") and k not in HIDDEN}


def history(reads: ReadStore, aggregate_id: UUID, after_version: int, limit: int) -> list[HistoryEntry]:
    """Each event of the aggregate (after ``after_version``, at most ``limit``) with the
    state it left the aggregate in."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit is 1 to {MAX_LIMIT}")
    aggregate: Any = None
    entries = []
    for row in _rows(reads, aggregate_id):
        decoded = _decode(reads, row)
        aggregate = decoded.mutate(aggregate)
        if row["originator_version"] > after_version:
            entries.append(HistoryEntry(event=_event(row, decoded), state=_state(aggregate)))
            if len(entries) == limit:
                break
    return entries


def state_at(
    reads: ReadStore, aggregate_id: UUID, as_of: dt.datetime | None, version: int | None
) -> AggregateState:
    """The aggregate as it was after its last event recorded at or before ``as_of``, or
    after ``version``; its latest state without either."""
    if as_of is not None and version is not None:
        raise InvalidInputError("ask for as_of or for version, not both")
    aggregate: Any = None
    for row in _rows(reads, aggregate_id):
        if (version is not None and row["originator_version"] > version) or (
            as_of is not None and row["recorded_at"] > as_of
        ):
            break
        aggregate = _decode(reads, row).mutate(aggregate)
    if aggregate is None:
        raise NotFoundError(f"aggregate {aggregate_id} did not exist then")
    return AggregateState(
        aggregate_id=aggregate_id,
        type=type(aggregate).__name__,
        version=aggregate.version,
        modified_at=aggregate.modified_on,
        state=_state(aggregate),
    )


class FieldChange(msgspec.Struct, kw_only=True):
    field: str
    old: Any
    new: Any


class ChangeEntry(msgspec.Struct, kw_only=True):
    """One event that changed fields: who (actor), why (the event's type, the command, the
    request's correlation id), when, and each field from what to what."""

    version: int
    type: str
    recorded_at: dt.datetime
    actor: str | None
    command: str | None
    correlation_id: str | None
    changes: list[FieldChange]


def as_fields(value: Any) -> dict[str, Any]:
    """A state (an aggregate, a rule) as plain fields."""
    if value is None:
        return {}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
    return _state(value)


def field_changes(reads: ReadStore, aggregate_id: UUID, pick: Callable[[Any], Any]) -> list[ChangeEntry]:
    """Every event that changed the fields ``pick`` selects from the aggregate (the
    aggregate itself, or a part of it such as one rule of the category book), oldest first."""
    aggregate: Any = None
    entries = []
    for row in _rows(reads, aggregate_id):
        before = as_fields(pick(aggregate)) if aggregate is not None else {}
        aggregate = _decode(reads, row).mutate(aggregate)
        after = as_fields(pick(aggregate))
        changed = [
            FieldChange(field=name, old=before.get(name), new=after.get(name))
            for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)
        ]
        if changed:
            who = json.loads(row["metadata"]) if row["metadata"] else {}
            entries.append(
                ChangeEntry(
                    version=row["originator_version"],
                    type=row["topic"].partition(":")[2],
                    recorded_at=row["recorded_at"],
                    actor=who.get("actor"),
                    command=who.get("command"),
                    correlation_id=who.get("correlation_id"),
                    changes=changed,
                )
            )
    return entries
