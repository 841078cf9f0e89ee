"""The one place where events are appended to the store.

Every command saves through :func:`append`, so that a different append strategy
(batching, group commit) can be introduced here alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, OperationalError
from psycopg import Cursor

from commands import idempotency_key as idempotency
from commands.absence import ABSENT
from commands.application import Ledger
from commands.closed_periods import guard
from ledger.errors import ConcurrencyConflictError


class StoreUnavailableError(Exception):
    """The event store could not take the write now (lock timeout, connection lost)."""


@dataclass(frozen=True, slots=True)
class Appended:
    """What a command answers: the aggregate, its new version, and the consistency token."""

    id: UUID
    version: int
    position: int
    created: tuple[UUID, ...] = ()  # aggregates this append created, in order
    events: int = 0  # how many events the append stored


def key_taken(app: Ledger, key: Any) -> bool:
    """Whether a concurrent attempt of the same request holds the key now."""
    recorder: Any = app.recorder
    with recorder.datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT 1 FROM eventstore.idempotency_keys WHERE scope = %s AND key = %s"
            " AND created_at > now() - interval '24 hours'",
            (key.scope, key.key),
        ).fetchone()
    return row is not None


def append(
    app: Ledger,
    subject: Aggregate,
    *others: Aggregate,
    depends_on: Mapping[UUID, int] | None = None,
    within: Callable[[Cursor[Any]], None] | None = None,
) -> Appended:
    """Store the pending events of ``subject`` and ``others`` atomically (all or nothing).

    Raises ConcurrencyConflictError when another writer appended to one of them first. The
    request's idempotency key, if any, is recorded in the same transaction. A change to a
    transaction dated in a closed period is refused here, or stored with its override
    (commands/closed_periods.py). ``depends_on``: aggregates the decision read, by id, with
    the version it read (0: absent); the append fails as a conflict if one of them changed.
    ``within``: more work done in the append's transaction (stored together or not at all).
    """
    books, read = guard(app, (subject, *others))
    others = (*others, *books)
    key = idempotency.CURRENT.get()
    read = {**read, **(depends_on or {})}
    options: dict[str, Any] = {"depends_on": read, "within": within}
    if key is not None:
        options["idempotency"] = (key.scope, key.key, key.fingerprint, subject.id, subject.version)
    try:
        recordings = app.save(subject, *others, **options)
    except IntegrityError as error:
        ABSENT.forget(read)  # what was absent may have appeared: the retry reads it
        if key is not None and key_taken(app, key):
            raise idempotency.DuplicateRequestError from error
        raise ConcurrencyConflictError("another change was saved first; reload and try again") from error
    except OperationalError as error:
        raise StoreUnavailableError(str(error)) from error
    if key is not None:
        # One key, one append: a retry after a conflict still carries it; later appends of
        # the same request do not.
        idempotency.CURRENT.set(None)
    position = max((r.notification.id for r in recordings), default=0)
    created = tuple(
        r.domain_event.originator_id for r in recordings if r.domain_event.originator_version == 1
    )
    ABSENT.forget(created)  # what this process saw absent and just created exists now
    return Appended(subject.id, subject.version, position, created, len(recordings))
