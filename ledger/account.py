"""The Account aggregate: a household's own account, its currency, kind and balance limit.

The account keeps its running balance so that a limit (``minimum_balance``, e.g. 0 for
an asset account that must never go negative) is checked against the version being
written: two writers that both pass the check cannot both commit, because the event
store refuses the second append at the same (account id, version).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import (
    AccountClosedError,
    AccountNotEmptyError,
    BalanceLimitError,
    CurrencyMismatchError,
    InvalidInputError,
)
from ledger.money import Money, check_currency

MAX_NAME_LENGTH = 200


class AccountKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    INCOME = "income"
    EXPENSE = "expense"
    EQUITY = "equity"


def check_name(name: str) -> str:
    """A name is non-empty after trimming and at most 200 characters."""
    trimmed = name.strip()
    if not trimmed or len(trimmed) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"a name has 1 to {MAX_NAME_LENGTH} characters")
    return trimmed


class Account(Aggregate):
    """An account of a household, with its balance and optional balance floor."""

    @classmethod
    def open(
        cls,
        household_id: UUID,
        name: str,
        kind: AccountKind,
        currency: str,
        minimum_balance: Decimal | None = None,
    ) -> Account:
        check_currency(currency)
        if minimum_balance is not None:
            minimum_balance = Money.of(minimum_balance, currency).amount
            if minimum_balance > 0:
                raise InvalidInputError("minimum_balance must be zero or negative")
        try:
            account_kind = AccountKind(kind)
        except ValueError:
            raise InvalidInputError(f"unknown kind of account {kind!r}") from None
        return cls(household_id, check_name(name), account_kind, currency, minimum_balance)

    @event("Opened")
    def __init__(
        self,
        household_id: UUID,
        name: str,
        kind: AccountKind,
        currency: str,
        minimum_balance: Decimal | None,
    ) -> None:
        self.household_id = household_id
        self.name = name
        self.kind = AccountKind(kind)
        self.currency = currency
        self.minimum_balance = minimum_balance
        self.balance = Decimal(0)
        self.is_closed = False

    def rename(self, name: str) -> None:
        self.check_open()
        self._renamed(check_name(name))

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.name = name

    def close(self) -> None:
        self.check_open()
        if self.balance != 0:
            raise AccountNotEmptyError(f"balance is {self.balance} {self.currency}; move it first")
        self._closed()

    @event("Closed")
    def _closed(self) -> None:
        self.is_closed = True

    def post(self, transaction_id: UUID, amount: Money) -> None:
        """Apply a posting of a transaction to this account."""
        self.check_open()
        self.check_can_change_by(amount)
        self._posting_applied(transaction_id, amount.amount)

    @event("PostingApplied")
    def _posting_applied(self, transaction_id: UUID, amount: Decimal) -> None:
        self.balance += amount

    def reverse(self, transaction_id: UUID, amount: Money) -> None:
        """Take back a posting of a cancelled transaction. A closed account refuses it too:
        its balance is zero and must stay so."""
        self.check_open()
        self.check_can_change_by(-amount)
        self._posting_reversed(transaction_id, amount.amount)

    @event("PostingReversed")
    def _posting_reversed(self, transaction_id: UUID, amount: Decimal) -> None:
        self.balance -= amount

    def check_open(self) -> None:
        if self.is_closed:
            raise AccountClosedError(f"account {self.id} is closed")

    def check_can_change_by(self, change: Money) -> None:
        if change.currency != self.currency:
            raise CurrencyMismatchError(f"account {self.id} holds {self.currency}, not {change.currency}")
        new_balance = (Money(self.balance, self.currency) + change).amount  # range-checked
        if self.minimum_balance is not None and new_balance < self.minimum_balance:
            raise BalanceLimitError(
                f"balance would become {new_balance} {self.currency}, "
                f"below the minimum of {self.minimum_balance}",
                balance=str(self.balance),
                minimum_balance=str(self.minimum_balance),
            )
