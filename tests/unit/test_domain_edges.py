"""Edge cases found by review: wrong types and limits give domain errors, never crashes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from ledger.account import Account
from ledger.errors import InvalidInputError, InvalidMoneyError
from ledger.money import MAX_ABS_AMOUNT, Money
from ledger.posting import EntryKind, entry_postings
from ledger.transaction import Transaction


def test_a_plain_string_kind_gives_the_same_postings_as_the_enum() -> None:
    account = uuid4()
    amount = Money.of(Decimal("5"), "EUR")
    assert entry_postings("expense", amount, account) == entry_postings(EntryKind.EXPENSE, amount, account)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        entry_postings("gift", amount, account)  # type: ignore[arg-type]


def test_an_unknown_account_kind_is_a_domain_error() -> None:
    with pytest.raises(InvalidInputError):
        Account.open(uuid4(), "X", "piggybank", "EUR")  # type: ignore[arg-type]


def recorded(category: str | None = "food") -> Transaction:
    account = uuid4()
    postings = entry_postings(EntryKind.EXPENSE, Money.of(Decimal("1"), "EUR"), account, category=category)
    return Transaction.record(
        uuid4(), EntryKind.EXPENSE, postings, dt.date(2026, 1, 1), "x", category=category
    )


@pytest.mark.parametrize(
    "changes",
    [{"tags": None}, {"tags": "abc"}, {"tags": [1]}, {"description": None}, {"merchant": 5}, {"notes": []}],
)
def test_edits_with_wrong_types_are_refused(changes: dict[str, Any]) -> None:
    transaction = recorded()
    with pytest.raises(InvalidInputError):
        transaction.edit(changes)
    assert transaction.version == 1


def test_tags_are_limited_after_trimming() -> None:
    transaction = recorded()
    transaction.edit({"tags": ["  " + "a" * 50 + "  "]})
    assert transaction.tags == ["a" * 50]


@pytest.mark.parametrize("category", ["x" * 101, "  ", "a:b"])
def test_record_and_recategorise_share_the_category_rules(category: str) -> None:
    with pytest.raises(InvalidInputError):
        recorded(category)
    transaction = recorded()
    with pytest.raises(InvalidInputError):
        transaction.recategorise(category)


def test_balances_cannot_overflow_the_amount_range() -> None:
    account = Account.open(uuid4(), "Big", "asset", "EUR")  # type: ignore[arg-type]
    account.post(uuid4(), Money.of(MAX_ABS_AMOUNT, "EUR"))
    with pytest.raises(InvalidMoneyError):
        account.post(uuid4(), Money.of(Decimal("1"), "EUR"))
    assert account.balance == MAX_ABS_AMOUNT
