"""The Account aggregate: a household's own account, its currency, kind and balance limit.

The account keeps its running balance so that a limit (``minimum_balance``, e.g. 0 for
an asset account that must never go negative) is checked against the version being
written: two writers that both pass the check cannot both commit, because the event
store refuses the second append at the same (account id, version).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import (
    AccountClosedError,
    AccountNotEmptyError,
    BalanceLimitError,
    CurrencyMismatchError,
    ForbiddenError,
    IllegalTransitionError,
    InvalidInputError,
)
from ledger.money import Money, check_currency
from ledger.text import check_text

MAX_NAME_LENGTH = 200


class AccessLevel(StrEnum):
    """What a household member may do with an account (each level includes the ones before)."""

    NONE = "none"  # private: the account and its transactions are invisible
    VIEW = "view"  # see the account, its balance and its transactions
    ANNOTATE = "annotate"  # also describe, tag, note and categorise its transactions
    FULL = "full"  # also record, cancel, dispute, rename, close


ACCESS_ORDER = [AccessLevel.NONE, AccessLevel.VIEW, AccessLevel.ANNOTATE, AccessLevel.FULL]


def access_level(level: str) -> AccessLevel:
    try:
        return AccessLevel(level)
    except ValueError:
        raise InvalidInputError(f"unknown access level {level!r}") from None


class AccountKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    INCOME = "income"
    EXPENSE = "expense"
    EQUITY = "equity"


def check_name(name: str) -> str:
    """A name is printable, non-empty after trimming and at most 200 characters."""
    trimmed = check_text("name", name.strip(), MAX_NAME_LENGTH) or ""
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
        # Sharing inside the household: accounts opened before sharing existed have no
        # owner and are fully shared.
        self.owner_id: UUID | None = None
        self.default_access = AccessLevel.FULL
        self.member_access: dict[str, AccessLevel] = {}
        self.reconciled_until: date | None = None

    def assign_owner(self, owner_id: UUID) -> None:
        """The member who opened the account; they always have full access."""
        if self.owner_id is not None:
            raise IllegalTransitionError("the account has an owner already")
        self._owner_assigned(owner_id)

    @event("OwnerAssigned")
    def _owner_assigned(self, owner_id: UUID) -> None:
        self.owner_id = owner_id

    def share(self, default: str, members: dict[UUID, str], by: UUID) -> None:
        """Set what other members may do: a default level and per-member exceptions."""
        if self.owner_id is not None and by != self.owner_id:
            raise ForbiddenError("only the account's owner decides how it is shared")
        if self.owner_id is None and self.access_for(by) is not AccessLevel.FULL:
            raise ForbiddenError("you need full access to share this account")
        checked = {str(member): access_level(level) for member, level in members.items()}
        self._sharing_changed(access_level(default), checked, by)

    @event("SharingChanged")
    def _sharing_changed(
        self, default_access: AccessLevel, member_access: dict[str, AccessLevel], by: UUID
    ) -> None:
        self.default_access = AccessLevel(default_access)
        self.member_access = {member: AccessLevel(level) for member, level in member_access.items()}

    def access_for(self, user_id: UUID | None) -> AccessLevel:
        """The caller's level; None stands for the system itself (operators, imports)."""
        if user_id is None or user_id == self.owner_id:
            return AccessLevel.FULL
        return self.member_access.get(str(user_id), self.default_access)

    def check_access(self, user_id: UUID | None, needed: AccessLevel) -> None:
        """Refuse (403) a member whose level is below ``needed``; callers turn NONE into 404."""
        level = self.access_for(user_id)
        if ACCESS_ORDER.index(level) < ACCESS_ORDER.index(needed):
            raise ForbiddenError(f"your access to this account is {level}; this needs {needed}")

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

    def reconcile(self, statement_id: UUID, closing_date: date, closing_balance: Money, count: int) -> None:
        """Record that a bank statement's closing balance matched the ledger on that date."""
        self.check_open()
        if closing_balance.currency != self.currency:
            raise CurrencyMismatchError(f"account {self.id} holds {self.currency}")
        self._reconciled(statement_id, closing_date, closing_balance.amount, count)

    @event("Reconciled")
    def _reconciled(
        self, statement_id: UUID, closing_date: date, closing_balance: Decimal, count: int
    ) -> None:
        self.reconciled_until = closing_date

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
