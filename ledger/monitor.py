"""Balance monitors: a person's threshold on an account's balance, and the alerts it gives.

A monitor fires when the balance crosses its threshold in its direction: ``below`` when a
posting takes the balance from at or above the threshold to under it, ``above`` when one
takes it from at or under the threshold to over it. A monitor created while the balance is
already past its threshold waits for the next crossing. Every crossing is an alert: one
that goes back and crosses again alerts again. Balances are the account's own sign
convention (debit-positive, as the accounts API shows them).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.account import check_name
from ledger.errors import IllegalTransitionError, InvalidInputError, NotFoundError
from ledger.money import Money


class Direction(StrEnum):
    BELOW = "below"
    ABOVE = "above"


def crossed(direction: Direction, threshold: Decimal, before: Decimal, after: Decimal) -> bool:
    if direction is Direction.BELOW:
        return before >= threshold > after
    return before <= threshold < after


def balance_alert_id(monitor_id: UUID, account_version: int) -> UUID:
    """One alert per monitor and account posting: a replay of the posting cannot store a
    second."""
    return uuid5(NAMESPACE_URL, f"fiscaflow:balance-alert:{monitor_id}:{account_version}")


class BalanceMonitor(Aggregate):
    @classmethod
    def create(
        cls,
        household_id: UUID,
        owner_id: UUID | None,
        account_id: UUID,
        name: str,
        threshold: Money,
        direction: str,
    ) -> BalanceMonitor:
        return cls(
            household_id=household_id,
            owner_id=owner_id,
            account_id=account_id,
            name=check_name(name),
            threshold=threshold,
            direction=Direction(direction),
        )

    @event("Created")
    def __init__(
        self,
        household_id: UUID,
        owner_id: UUID | None,
        account_id: UUID,
        name: str,
        threshold: Money,
        direction: Direction,
    ) -> None:
        self.household_id = household_id
        self.owner_id = owner_id
        self.account_id = account_id
        self.name = name
        self.threshold = threshold
        self.direction = Direction(direction)
        self.deleted = False

    def check_exists(self) -> None:
        if self.deleted:
            raise NotFoundError(f"no balance monitor {self.id}")

    def change(self, changes: dict[str, Any]) -> None:
        self.check_exists()
        unknown = set(changes) - {"name", "threshold", "direction"}
        if unknown:
            raise InvalidInputError(f"fields not changeable: {sorted(unknown)}")
        if not changes:
            raise InvalidInputError("nothing to change")
        checked = dict(changes)
        if "name" in checked:
            checked["name"] = check_name(checked["name"])
        if "direction" in checked:
            checked["direction"] = Direction(checked["direction"])
        threshold = checked.get("threshold", self.threshold)
        if not isinstance(threshold, Money) or threshold.currency != self.threshold.currency:
            raise InvalidInputError(f"the threshold is an amount in {self.threshold.currency}")
        self._changed(checked)

    @event("Changed")
    def _changed(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, Direction(value) if name == "direction" else value)

    def delete(self) -> None:
        if self.deleted:
            raise IllegalTransitionError("the balance monitor is deleted already")
        self._deleted()

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True


class BalanceAlert(Aggregate):
    """A monitored balance crossed its threshold (stored once per crossing, by the relay)."""

    class Crossed(Aggregate.Created):
        household_id: UUID
        monitor_id: UUID
        owner_id: UUID | None
        account_id: UUID
        name: str
        direction: str
        threshold: Decimal
        balance: Decimal
        currency: str

    @classmethod
    def crossed(cls, monitor_id: UUID, account_version: int, facts: dict[str, Any]) -> BalanceAlert:
        """``facts``: household_id, owner_id, account_id, name, direction, threshold, balance,
        currency."""
        return cls._create(
            cls.Crossed, id=balance_alert_id(monitor_id, account_version), monitor_id=monitor_id, **facts
        )

    @event(Crossed)
    def __init__(
        self,
        household_id: UUID,
        monitor_id: UUID,
        owner_id: UUID | None,
        account_id: UUID,
        name: str,
        direction: str,
        threshold: Decimal,
        balance: Decimal,
        currency: str,
    ) -> None:
        self.household_id = household_id
        self.monitor_id = monitor_id
        self.owner_id = owner_id
        self.account_id = account_id
        self.name = name
        self.direction = direction
        self.threshold = threshold
        self.balance = balance
        self.currency = currency
