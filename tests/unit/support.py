"""Helpers shared by the unit tests of the pure domain (no database, no network)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, CanMutateAggregate

from ledger.account import Account, AccountKind
from ledger.money import Money
from ledger.posting import EntryKind, entry_postings
from ledger.transaction import Status, Transaction
from ledger.transcodings import event_mapper

A = TypeVar("A", bound=Aggregate)

DAY = date(2024, 3, 15)


def eur(text: str) -> Money:
    return Money.of(Decimal(text), "EUR")


def open_account(
    household_id: UUID | None = None,
    *,
    name: str = "Checking",
    kind: AccountKind = AccountKind.ASSET,
    currency: str = "EUR",
    minimum_balance: Decimal | None = None,
) -> Account:
    return Account.open(household_id or uuid4(), name, kind, currency, minimum_balance)


def record(
    kind: EntryKind = EntryKind.EXPENSE,
    amount: str = "12.34",
    *,
    account_id: UUID | None = None,
    to_account_id: UUID | None = None,
    category: str | None = None,
    status: Status = Status.POSTED,
    household_id: UUID | None = None,
    **fields: Any,
) -> Transaction:
    """A transaction recorded the way the write side does it (postings from a plain entry)."""
    if kind is EntryKind.TRANSFER and to_account_id is None:
        to_account_id = uuid4()
    postings = entry_postings(
        kind,
        eur(amount),
        account_id or uuid4(),
        category=category,
        to_account_id=to_account_id,
    )
    return Transaction.record(
        household_id or uuid4(),
        kind,
        postings,
        fields.pop("on", DAY),
        fields.pop("description", "groceries"),
        category=category,
        status=status,
        **fields,
    )


def state(aggregate: Aggregate) -> dict[str, Any]:
    """A deep copy of every attribute of an aggregate except its pending events."""
    return copy.deepcopy({k: v for k, v in vars(aggregate).items() if k != "_pending_events"})


def assert_refused_without_change(
    aggregate: Aggregate,
    error: type[Exception],
    action: Callable[..., object],
    *args: Any,
    match: str | None = None,
) -> None:
    """``action(*args)`` raises ``error`` and leaves the aggregate exactly as it was:
    same version, same attributes, no new pending event (guards first, mutation last)."""
    before = state(aggregate)
    version = aggregate.version
    pending = len(aggregate.pending_events)
    with pytest.raises(error, match=match):
        action(*args)
    assert aggregate.version == version
    assert len(aggregate.pending_events) == pending
    assert state(aggregate) == before


def replay(events: Iterable[CanMutateAggregate[UUID]]) -> Any:
    """Rebuild an aggregate from its events, as the library's repository does."""
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def through_storage(events: Sequence[CanMutateAggregate[UUID]]) -> list[Any]:
    """The events after a round trip through their stored (JSON) form."""
    mapper = event_mapper()
    return [mapper.to_domain_event(mapper.to_stored_event(event)) for event in events]


def assert_same_aggregate(replayed: A, live: A) -> None:
    """Attribute by attribute, the replayed aggregate is the live one."""
    assert type(replayed) is type(live)
    assert replayed.id == live.id
    assert replayed.version == live.version
    assert replayed.created_on == live.created_on
    assert replayed.modified_on == live.modified_on
    assert state(replayed) == state(live)
    assert replayed.pending_events == []
