"""Closed periods, enforced where every change is appended (commands/write_path.py).

A transaction created or changed in an append whose date before or after the change lies
on or before its household's closed-through date is refused (409 ``period-closed``),
whatever command, import, schedule or rule run made the change. An admin may override
with a reason: the append then also stores a ``Books.ClosedPeriodOverridden`` event per
such transaction (who, why, which transaction, which date), in the same transaction as the
change, so the override and the change are stored together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from commands.absence import ABSENT
from commands.application import Ledger
from ledger.books import Books, books_id
from ledger.errors import ForbiddenError, PeriodClosedError
from ledger.transaction import Transaction


@dataclass(frozen=True, slots=True)
class Override:
    """A request's wish to change a closed period: its reason, and who asks."""

    reason: str
    by: UUID
    admin: bool


# Set per request (api/periods.py) from the X-Override-Reason header; None: no override.
OVERRIDE: ContextVar[Override | None] = ContextVar("fiscaflow_period_override", default=None)


def load_books(app: Ledger, household_id: UUID) -> Books | None:
    """The household's books, or None if it never closed a period (remembered for a while,
    commands/absence.py: the append depends on their absence, see ``guard``)."""
    key = books_id(household_id)
    if ABSENT.known(key):
        return None
    try:
        books: object = app.repository.get(key)
    except AggregateNotFoundError:
        ABSENT.seen(key)
        return None
    assert isinstance(books, Books)
    return books


def changed_transactions(aggregates: Iterable[Aggregate]) -> Iterator[Transaction]:
    for aggregate in aggregates:
        if isinstance(aggregate, Transaction) and aggregate.pending_events:
            yield aggregate


def earliest_date(app: Ledger, books: Books, transaction: Transaction) -> date:
    """The transaction's date now or, if it existed before this append, the earlier of
    that and its stored date (read only when the date now is not closed anyway)."""
    first = transaction.pending_events[0].originator_version
    if first == 1 or books.covers(transaction.date):
        return transaction.date
    before: object = app.repository.get(transaction.id, version=first - 1)
    assert isinstance(before, Transaction)
    return min(transaction.date, before.date)


def guard(app: Ledger, aggregates: Iterable[Aggregate]) -> tuple[list[Books], dict[UUID, int]]:
    """Refuse changes into closed periods, or record an admin's override of them: the
    books to save along with the change (none without an override), and the version of
    each household's books this decision read (0: none yet). The append stores the change
    only if those books are still at that version when it holds the events table's lock
    (commands/recorder.py), so a close that commits meanwhile makes it retry and decide
    again: a change never slips into a period closed while it was being made."""
    transactions = list(changed_transactions(aggregates))
    overridden = []
    read: dict[UUID, int] = {}
    for household_id in {t.household_id for t in transactions}:
        books = load_books(app, household_id)
        read[books_id(household_id)] = books.version if books is not None else 0
        if books is None or books.closed_through is None:
            continue
        mine = (t for t in transactions if t.household_id == household_id)
        dated = [(t.id, earliest_date(app, books, t)) for t in mine]
        touched = [(transaction_id, day) for transaction_id, day in dated if books.covers(day)]
        if touched:
            record_override(books, touched)
            overridden.append(books)
    return overridden, read


def record_override(books: Books, touched: list[tuple[UUID, date]]) -> None:
    """The override events, if this request may override (else the refusal)."""
    override = OVERRIDE.get()
    first_id, first_day = touched[0]
    if override is None:
        raise PeriodClosedError(
            f"transaction {first_id} is dated {first_day}, in the period closed through"
            f" {books.closed_through}; an admin may override with X-Override-Reason",
            closed_through=str(books.closed_through),
            transaction_id=str(first_id),
        )
    if not override.admin:
        raise ForbiddenError("only an admin may change a closed period")
    for transaction_id, day in touched:
        books.override(transaction_id, day, override.reason, override.by)
