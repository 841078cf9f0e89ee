"""The one place where events are appended to the store.

Every command saves through :func:`append`, so that a different append strategy
(batching, group commit) can be introduced here alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, OperationalError

from commands.application import Ledger
from ledger.errors import ConcurrencyConflictError


class StoreUnavailableError(Exception):
    """The event store could not take the write now (lock timeout, connection lost)."""


@dataclass(frozen=True, slots=True)
class Appended:
    """What a command answers: the aggregate, its new version, and the consistency token."""

    id: UUID
    version: int
    position: int


def append(app: Ledger, subject: Aggregate, *others: Aggregate) -> Appended:
    """Store the pending events of ``subject`` and ``others`` atomically (all or nothing).

    Raises ConcurrencyConflictError when another writer appended to one of them first.
    """
    try:
        recordings = app.save(subject, *others)
    except IntegrityError as error:
        raise ConcurrencyConflictError("another change was saved first; reload and try again") from error
    except OperationalError as error:
        raise StoreUnavailableError(str(error)) from error
    position = max((r.notification.id for r in recordings), default=0)
    return Appended(subject.id, subject.version, position)
