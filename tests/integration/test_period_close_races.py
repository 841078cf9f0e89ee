"""A period close and a backdated change made at the same time (two processes): whichever
commits second sees the other, because each append checks, under the events table's lock,
that what it decided on is unchanged (commands/recorder.py ``depends_on``).

The interleavings are forced, not hoped for: the other process's write is made at the
exact point between one side's read and its append. The same holds for a category book a
process remembers as absent (commands/absence.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from commands import closed_periods, periods
from commands.absence import ABSENT
from commands.messages import AddCategory, EditTransaction, RenameCategory
from commands.periods import PeriodCommands
from ledger.books import Books, books_id
from ledger.categories import book_id
from ledger.errors import PeriodClosedError
from ledger.transaction import Transaction
from tests.integration.helpers import Books as Ledgers

pytestmark = pytest.mark.integration

JANUARY = dt.date(2026, 1, 31)


@pytest.fixture
def two(database: str) -> Iterator[tuple[Ledgers, Ledgers]]:
    """Two processes' applications on one event store."""
    first, second = Ledgers(database), Ledgers(database)
    yield first, second
    first.close()
    second.close()


def test_a_backdated_edit_that_read_open_books_is_refused_once_a_close_commits_first(
    two: tuple[Ledgers, Ledgers], database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, closer = two
    household = uuid.uuid4()
    account = writer.open(household)
    spent = writer.record(
        household, "expense", account, "10.00", date=dt.date(2026, 1, 15), description="Rent"
    )
    real_load = closed_periods.load_books
    closes = []

    def load_then_close(app: Any, household_id: uuid.UUID) -> Books | None:
        books = real_load(app, household_id)  # the writer sees the books still open ...
        if not closes:  # ... and the other process closes January before the writer appends
            closes.append(PeriodCommands(closer.ledger, database).close(household_id, JANUARY, None))
        return books

    monkeypatch.setattr(closed_periods, "load_books", load_then_close)
    with pytest.raises(PeriodClosedError):  # the conflict made it decide again, on the closed books
        writer.transactions.edit(household, spent, EditTransaction(description="Rent, edited late"), None)
    assert len(closes) == 1
    stored = writer.ledger.repository.get(spent)
    assert isinstance(stored, Transaction) and stored.description == "Rent"  # nothing slipped in


def test_a_close_whose_balances_went_stale_meanwhile_recomputes_them(
    two: tuple[Ledgers, Ledgers], database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    closer, writer = two
    household = uuid.uuid4()
    account = closer.open(household)
    closer.record(household, "income", account, "100.00", date=dt.date(2026, 1, 5))
    real_balances = periods.balances_through
    late = []

    def balances_then_write(
        app: Any, household_id: uuid.UUID, through: dt.date, read: dict[uuid.UUID, int]
    ) -> Any:
        figures = real_balances(app, household_id, through, read)
        if not late:  # another process records a backdated expense after the sums were made
            late.append(writer.record(household, "expense", account, "30.00", date=dt.date(2026, 1, 20)))
        return figures

    monkeypatch.setattr(periods, "balances_through", balances_then_write)
    PeriodCommands(closer.ledger, database).close(household, JANUARY, None)
    books = closer.ledger.repository.get(books_id(household))
    assert isinstance(books, Books) and len(late) == 1
    assert books.closes[-1].balances[str(account)].amount == Decimal("70.00")  # not the stale 100.00


def test_a_process_that_last_saw_no_books_learns_of_a_close_from_the_conflict(
    two: tuple[Ledgers, Ledgers], database: str
) -> None:
    """Appends skip reading books a household never had (a 30 s memory); a close made by
    another process meanwhile still stops a backdated change: the append's check under the
    lock fails, the memory is dropped, and the retry reads the books."""
    writer, closer = two
    household = uuid.uuid4()
    account = writer.open(household)
    spent = writer.record(household, "expense", account, "10.00", date=dt.date(2026, 1, 15))
    assert closed_periods.load_books(writer.ledger, household) is None  # remembered: no books
    PeriodCommands(closer.ledger, database).close(household, JANUARY, None)
    ABSENT.seen(books_id(household))  # as another process would still
    with pytest.raises(PeriodClosedError):
        writer.transactions.edit(household, spent, EditTransaction(description="late"), None)
    assert not ABSENT.known(books_id(household))  # forgotten on the conflict
    stored = writer.ledger.repository.get(spent)
    assert isinstance(stored, Transaction) and stored.description == ""


def test_a_process_that_last_saw_no_category_book_records_under_the_book_another_made(
    two: tuple[Ledgers, Ledgers],
) -> None:
    """Recording skips reading a category book the household never had (a 30 s memory);
    a rename made by another process meanwhile still applies: the append depends on the
    book's absence, fails as a conflict, forgets it, and the retry reads the book."""
    writer, other = two
    household = uuid.uuid4()
    account = writer.open(household)
    writer.record(household, "expense", account, "5.00", category="groceries")
    assert ABSENT.known(book_id(household))  # remembered: no book
    other.categories.rename(household, "groceries", RenameCategory(name="supermarket"))
    late = writer.record(household, "expense", account, "7.00", category="groceries")
    stored = writer.ledger.repository.get(late)
    assert isinstance(stored, Transaction) and stored.category == "supermarket"  # the alias resolved
    assert not ABSENT.known(book_id(household))  # forgotten on the conflict
    again = uuid.uuid4()
    writer.record(again, "expense", writer.open(again), "1.00", category="groceries")
    assert ABSENT.known(book_id(again))
    writer.categories.add(again, AddCategory(name="falconry"))
    assert not ABSENT.known(book_id(again))  # this process created it: forgotten at once
