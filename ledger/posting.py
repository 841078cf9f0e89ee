"""Postings: the double-entry lines of a transaction, and how plain entries become them.

Sign convention: amounts are debit-positive for every account. Money flowing into an
asset account is positive; an expense posting is positive; income and liability
postings are negative. A transaction's postings sum to zero per currency.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from ledger.errors import CurrencyMismatchError, InvalidInputError, InvalidMoneyError
from ledger.money import Money

UNCATEGORISED = "uncategorised"


class EntryKind(StrEnum):
    """What the user recorded: an expense, an income, or a transfer between own accounts."""

    EXPENSE = "expense"
    INCOME = "income"
    TRANSFER = "transfer"


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of a transaction: an account (a household account id, or a nominal
    ledger account such as ``expenses:food``) and a signed amount."""

    account: str
    amount: Money

    def household_account_id(self) -> UUID | None:
        """The id of the household's own account, or None for a nominal account."""
        try:
            return UUID(self.account)
        except ValueError:
            return None


def entry_kind(kind: str) -> EntryKind:
    """The kind of entry, refusing anything but expense, income and transfer."""
    try:
        return EntryKind(kind)
    except ValueError:
        raise InvalidInputError(f"unknown kind of entry {kind!r}") from None


def nominal_account(kind: EntryKind, category: str | None) -> str:
    """The counter-account of a plain expense or income, named after its category."""
    prefix = "expenses" if entry_kind(kind) is EntryKind.EXPENSE else "income"
    return f"{prefix}:{category or UNCATEGORISED}"


def check_balanced(postings: tuple[Posting, ...]) -> None:
    """Every transaction has at least two postings that sum to zero per currency."""
    if len(postings) < 2:
        raise InvalidInputError("a transaction needs at least two postings")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for posting in postings:
        totals[posting.amount.currency] += posting.amount.amount
    unbalanced = {c: t for c, t in totals.items() if t != 0}
    if unbalanced:
        raise InvalidInputError(f"postings do not balance: {unbalanced}")


def entry_postings(
    kind: EntryKind,
    amount: Money,
    account_id: UUID,
    *,
    category: str | None = None,
    to_account_id: UUID | None = None,
) -> tuple[Posting, ...]:
    """Turn a plain entry (as a user sees it) into balanced postings.

    ``amount`` is the positive size of the entry: an expense of 12.34 takes 12.34 out
    of ``account_id``; an income puts it in; a transfer moves it to ``to_account_id``.
    """
    kind = entry_kind(kind)
    if amount.amount <= 0:
        raise InvalidMoneyError("the amount of an entry must be positive")
    own = str(account_id)
    if kind is EntryKind.TRANSFER:
        if to_account_id is None:
            raise InvalidInputError("a transfer needs to_account_id")
        if to_account_id == account_id:
            raise InvalidInputError("a transfer needs two different accounts")
        return (Posting(own, -amount), Posting(str(to_account_id), amount))
    if to_account_id is not None:
        raise InvalidInputError("to_account_id is only for transfers")
    counter = nominal_account(kind, category)
    if kind is EntryKind.EXPENSE:
        return (Posting(own, -amount), Posting(counter, amount))
    return (Posting(own, amount), Posting(counter, -amount))


def recategorised(postings: tuple[Posting, ...], kind: EntryKind, category: str) -> tuple[Posting, ...]:
    """The same postings with the nominal counter-account renamed after a new category."""
    counter = nominal_account(entry_kind(kind), category)
    return tuple(Posting(counter, p.amount) if p.household_account_id() is None else p for p in postings)


def check_same_currency(postings: tuple[Posting, ...]) -> str:
    """All postings of a plain entry share one currency; return it."""
    currencies = {p.amount.currency for p in postings}
    if len(currencies) != 1:
        raise CurrencyMismatchError(f"postings mix currencies {sorted(currencies)}")
    return currencies.pop()
