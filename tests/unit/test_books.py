"""The Books aggregate: periods close in order with their figures, a closed period refuses
to be closed again, overrides and reopenings carry their reasons, and refusals change nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from ledger.books import Books, books_id
from ledger.errors import IllegalTransitionError, InvalidInputError, OpenHoldsError, PeriodClosedError
from ledger.money import Money
from tests.unit.support import assert_refused_without_change, assert_same_aggregate, replay, through_storage

HOUSEHOLD, ADMIN, ACCOUNT, OTHER = (uuid.UUID(int=n) for n in (1, 2, 3, 4))
HEAD = "ab" * 32
JAN, FEB = dt.date(2026, 1, 31), dt.date(2026, 2, 28)


def closed(through: dt.date = JAN) -> Books:
    books = Books.open(HOUSEHOLD)
    books.close(through, {ACCOUNT: Money.of(Decimal("12.50"), "EUR")}, HEAD, ADMIN, [])
    return books


def test_one_books_per_household() -> None:
    assert Books.open(HOUSEHOLD).id == books_id(HOUSEHOLD) == Books.open(HOUSEHOLD).id
    assert books_id(OTHER) != books_id(HOUSEHOLD)


def test_a_close_records_balances_and_chain_head_and_covers_its_days() -> None:
    books = closed()
    assert books.closed_through == JAN
    (close,) = books.closes
    assert close.balances == {str(ACCOUNT): Money(Decimal("12.50"), "EUR")}
    assert (close.chain_head, close.closed_by) == (HEAD, ADMIN)
    assert books.covers(JAN) and books.covers(dt.date(2025, 12, 1))
    assert not books.covers(JAN + dt.timedelta(days=1))
    assert not Books.open(HOUSEHOLD).covers(JAN)


def test_periods_close_in_order() -> None:
    books = closed(FEB)
    for earlier in (FEB, JAN):
        assert_refused_without_change(
            books, PeriodClosedError, books.close, earlier, {}, HEAD, ADMIN, [], match="closed through"
        )
    books.close(dt.date(2026, 3, 31), {}, HEAD, ADMIN, [])
    assert [c.through for c in books.closes] == [FEB, dt.date(2026, 3, 31)]


@pytest.mark.parametrize(
    ("head", "pending", "error"),
    [
        ("not a digest", [], InvalidInputError),
        ("AB" * 32, [], InvalidInputError),
        (HEAD, [uuid.UUID(int=9)], OpenHoldsError),
    ],
)
def test_a_refused_close_changes_nothing(head: str, pending: list[uuid.UUID], error: type[Exception]) -> None:
    books = Books.open(HOUSEHOLD)
    assert_refused_without_change(books, error, books.close, JAN, {}, head, ADMIN, pending)
    assert books.closed_through is None


def test_an_override_is_recorded_only_inside_a_closed_period_and_with_a_reason() -> None:
    books = closed()
    transaction = uuid.UUID(int=7)
    assert_refused_without_change(books, InvalidInputError, books.override, transaction, FEB, "late", ADMIN)
    assert_refused_without_change(books, InvalidInputError, books.override, transaction, JAN, "  ", ADMIN)
    assert_refused_without_change(
        books, InvalidInputError, books.override, transaction, JAN, "x" * 501, ADMIN
    )
    books.override(transaction, JAN, "  bank corrected the statement ", ADMIN)
    event = books.pending_events[-1]
    assert type(event).__name__ == "ClosedPeriodOverridden"
    assert (event.transaction_id, event.on, event.reason, event.by) == (  # type: ignore[attr-defined]
        transaction,
        JAN,
        "bank corrected the statement",
        ADMIN,
    )
    assert books.closed_through == JAN  # an override reopens nothing


def test_reopen_takes_back_the_latest_close() -> None:
    books = closed(JAN)
    books.close(FEB, {}, HEAD, ADMIN, [])
    books.reopen("wrong day", ADMIN)
    assert books.closed_through == JAN
    books.reopen("audit asked", ADMIN)
    assert books.closed_through is None
    assert_refused_without_change(books, IllegalTransitionError, books.reopen, "again", ADMIN)


def test_replay_through_storage_equals_live_state() -> None:
    books = closed()
    books.override(uuid.UUID(int=7), JAN, "correction", ADMIN)
    books.close(FEB, {OTHER: Money.of(Decimal("-3"), "JPY")}, "cd" * 32, None, [])
    books.reopen("wrong", ADMIN)
    events = books.collect_events()
    assert_same_aggregate(replay(through_storage(list(events))), books)
