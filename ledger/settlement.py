"""Household settlement: shared expenses, who owes whom, and settling up.

One ``SplitBook`` per household (its id derives from the household's id). Sharing an
expense records each member's share, computed once and stored in the event, so that a
later change of the splitting rule never rewrites history. A transaction is shared at
most once: to share it differently, remove its share and share it again.

A member's balance in a currency is what they paid, minus their shares, plus what they
paid out in settle-ups, minus what they received: positive means the others owe them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.errors import (
    ConflictError,
    CurrencyMismatchError,
    InvalidInputError,
    NotFoundError,
)
from ledger.money import MINOR_UNITS, Money

SplitMethod = Literal["equal", "ratio", "income"]
METHODS: tuple[SplitMethod, ...] = ("equal", "ratio", "income")
MAX_MEMBERS = 50


def split_book_id(household_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"fiscaflow:split-book:{household_id}")


def settlement_id(book_id: UUID, version: int) -> UUID:
    """A settle-up is named by the book version that recorded it: a replayed request
    (same Idempotency-Key) answers the same id without storing it anywhere else."""
    return uuid5(book_id, f"settle-up:{version}")


def split(amount: Money, weights: dict[UUID, Decimal]) -> dict[UUID, Money]:
    """``amount`` shared in proportion to ``weights``, exactly, in minor units.

    Each member gets the floor of their exact share; the minor units left over go, one
    each, to the largest remainders (ties: lower member id first). The shares sum to the
    amount and each lies within one minor unit of its exact value.
    """
    check_weights(weights)
    if amount.amount < 0:
        raise InvalidInputError("only a positive amount is shared")
    places = MINOR_UNITS[amount.currency]
    units = int(amount.amount.scaleb(places))
    total = sum(Fraction(w) for w in weights.values())
    exact = {m: units * Fraction(w) / total for m, w in weights.items()}
    floors = {m: e.numerator // e.denominator for m, e in exact.items()}
    left = units - sum(floors.values())
    by_remainder = sorted(weights, key=lambda m: (-(exact[m] - floors[m]), m))
    for member in by_remainder[:left]:
        floors[member] += 1
    return {m: Money.of(Decimal(floors[m]).scaleb(-places), amount.currency) for m in sorted(weights)}


def check_weights(weights: dict[UUID, Decimal]) -> None:
    if not 1 <= len(weights) <= MAX_MEMBERS:
        raise InvalidInputError(f"an expense is shared between 1 and {MAX_MEMBERS} members")
    for member, weight in weights.items():
        if not isinstance(weight, Decimal) or not weight.is_finite() or weight <= 0:
            raise InvalidInputError(f"the weight of member {member} must be a positive number")


def who_owes_whom(balances: dict[UUID, Decimal]) -> list[tuple[UUID, UUID, Decimal]]:
    """Transfers (debtor, creditor, amount) that bring every balance of one currency to
    zero: the largest debtor pays the largest creditor (ties: lower member id first),
    so at most n - 1 transfers."""
    if sum(balances.values(), Decimal(0)) != 0:
        raise InvalidInputError("balances of a currency sum to zero")
    left = {m: b for m, b in balances.items() if b != 0}
    transfers = []
    while left:
        debtor = min(left, key=lambda m: (left[m], m))
        creditor = max(left, key=lambda m: (left[m], -m.int))
        paid = min(-left[debtor], left[creditor])
        transfers.append((debtor, creditor, paid))
        for member, change in ((debtor, paid), (creditor, -paid)):
            left[member] += change
            if left[member] == 0:
                del left[member]
    return transfers


@dataclass(frozen=True, slots=True)
class Share:
    """A shared expense: who paid, how much, how it was split and each member's share."""

    paid_by: UUID
    amount: Money
    method: str
    shares: dict[UUID, Money]


class SplitBook(Aggregate):
    """A household's shared expenses, its members' incomes (for income-based splits) and
    its settle-ups."""

    @staticmethod
    def create_id(household_id: UUID) -> UUID:
        return split_book_id(household_id)

    @classmethod
    def open(cls, household_id: UUID) -> SplitBook:
        return cls(household_id=household_id)

    @event("Opened")
    def __init__(self, household_id: UUID) -> None:
        self.household_id = household_id
        self.shared: dict[UUID, Share] = {}  # transaction id -> its share
        self.incomes: dict[UUID, Money] = {}
        self.settle_ups = 0

    # --- guards -----------------------------------------------------------------------

    @staticmethod
    def check_members(members: frozenset[UUID], *people: UUID) -> None:
        for person in people:
            if person not in members:
                raise NotFoundError(f"no member {person} in this household")

    def check_not_shared(self, transaction_id: UUID) -> None:
        if transaction_id in self.shared:
            raise ConflictError(f"transaction {transaction_id} is shared already: remove its share first")

    def check_shared(self, transaction_id: UUID) -> None:
        if transaction_id not in self.shared:
            raise NotFoundError(f"transaction {transaction_id} is not shared")

    @staticmethod
    def check_positive(amount: Money, what: str) -> None:
        if amount.amount <= 0:
            raise InvalidInputError(f"{what} must be positive")

    def weights_for(
        self, method: str, members: list[UUID], weights: dict[UUID, Decimal] | None
    ) -> dict[UUID, Decimal]:
        """The weights of a split: 1 each (equal), as given (ratio), or the incomes."""
        if method not in METHODS:
            raise InvalidInputError(f"method is one of {', '.join(METHODS)}")
        if (weights is not None) != (method == "ratio"):
            raise InvalidInputError("weights are given for the ratio method, and only for it")
        if method == "ratio":
            assert weights is not None
            if members and set(members) != set(weights):
                raise InvalidInputError("weights name exactly the members the expense is shared with")
            check_weights(weights)
            return dict(weights)
        if len(set(members)) != len(members):
            raise InvalidInputError("a member is named twice")
        if method == "equal":
            return {m: Decimal(1) for m in members}
        missing = [str(m) for m in members if m not in self.incomes]
        if missing:
            raise InvalidInputError(f"set the incomes of {', '.join(missing)} first (method income)")
        return {m: self.incomes[m].amount for m in members}

    # --- commands ---------------------------------------------------------------------

    def share(
        self,
        transaction_id: UUID,
        paid_by: UUID,
        amount: Money,
        method: str,
        members: list[UUID],
        weights: dict[UUID, Decimal] | None,
        household_members: frozenset[UUID],
    ) -> None:
        """Share an expense between members (in proportion to their weights)."""
        self.check_not_shared(transaction_id)
        self.check_positive(amount, "a shared amount")
        chosen = self.weights_for(method, members, weights)
        self.check_members(household_members, paid_by, *sorted(chosen))
        shares = split(amount, chosen)
        self._expense_shared(transaction_id, paid_by, amount, method, {str(m): s for m, s in shares.items()})

    @event("ExpenseShared")
    def _expense_shared(
        self, transaction_id: UUID, paid_by: UUID, amount: Money, method: str, shares: dict[str, Money]
    ) -> None:
        parts = {UUID(m): s for m, s in shares.items()}
        self.shared[transaction_id] = Share(paid_by, amount, method, parts)

    def unshare(self, transaction_id: UUID) -> None:
        self.check_shared(transaction_id)
        self._share_removed(transaction_id)

    @event("ShareRemoved")
    def _share_removed(self, transaction_id: UUID) -> None:
        del self.shared[transaction_id]

    def set_incomes(self, incomes: dict[UUID, Money], household_members: frozenset[UUID]) -> None:
        """Replace the incomes the income method splits by (one currency, each positive)."""
        if len(incomes) > MAX_MEMBERS:
            raise InvalidInputError(f"at most {MAX_MEMBERS} incomes")
        self.check_members(household_members, *sorted(incomes))
        if len({m.currency for m in incomes.values()}) > 1:
            raise CurrencyMismatchError("incomes are given in one currency")
        for income in incomes.values():
            self.check_positive(income, "an income")
        self._incomes_set({str(m): income for m, income in incomes.items()})

    @event("IncomesSet")
    def _incomes_set(self, incomes: dict[str, Money]) -> None:
        self.incomes = {UUID(m): income for m, income in incomes.items()}

    def settle_up(
        self,
        from_member: UUID,
        to_member: UUID,
        amount: Money,
        transaction_id: UUID | None,
        household_members: frozenset[UUID],
    ) -> UUID:
        """``from_member`` paid ``to_member`` back; answers the settle-up's id."""
        if from_member == to_member:
            raise InvalidInputError("a settle-up is between two different members")
        self.check_positive(amount, "a settle-up amount")
        self.check_members(household_members, from_member, to_member)
        new_id = settlement_id(self.id, self.version + 1)
        self._settled_up(new_id, from_member, to_member, amount, transaction_id)
        return new_id

    @event("SettledUp")
    def _settled_up(
        self,
        settlement_id: UUID,
        from_member: UUID,
        to_member: UUID,
        amount: Money,
        transaction_id: UUID | None,
    ) -> None:
        self.settle_ups += 1
