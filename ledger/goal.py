"""The Goal aggregate: a savings target (an amount, optionally by a date) fed by accounts.

Progress is the sum of the linked accounts' balances; the projected completion date comes
from their net inflow over the last 90 days (see queries/goals.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.account import check_name
from ledger.errors import IllegalTransitionError, InvalidInputError, NotFoundError
from ledger.money import Money

MAX_ACCOUNTS = 20


def check_accounts(account_ids: list[UUID]) -> list[UUID]:
    unique = sorted(set(account_ids), key=str)
    if not 1 <= len(unique) <= MAX_ACCOUNTS:
        raise InvalidInputError(f"a goal is fed by 1 to {MAX_ACCOUNTS} accounts")
    return unique


class Goal(Aggregate):
    @classmethod
    def create(
        cls,
        household_id: UUID,
        owner_id: UUID | None,
        name: str,
        target: Money,
        account_ids: list[UUID],
        target_date: dt.date | None = None,
    ) -> Goal:
        if target.amount <= 0:
            raise InvalidInputError("a goal's target is positive")
        return cls(
            household_id=household_id,
            owner_id=owner_id,
            name=check_name(name),
            target=target,
            account_ids=check_accounts(account_ids),
            target_date=target_date,
        )

    @event("Created")
    def __init__(
        self,
        household_id: UUID,
        owner_id: UUID | None,
        name: str,
        target: Money,
        account_ids: list[UUID],
        target_date: dt.date | None,
    ) -> None:
        self.household_id = household_id
        self.owner_id = owner_id
        self.name = name
        self.target = target
        self.account_ids = list(account_ids)
        self.target_date = target_date
        self.deleted = False

    def check_exists(self) -> None:
        if self.deleted:
            raise NotFoundError(f"no goal {self.id}")

    def change(self, changes: dict[str, Any]) -> None:
        self.check_exists()
        unknown = set(changes) - {"name", "target", "account_ids", "target_date"}
        if unknown:
            raise InvalidInputError(f"fields not changeable: {sorted(unknown)}")
        if not changes:
            raise InvalidInputError("nothing to change")
        checked = dict(changes)
        if "name" in checked:
            checked["name"] = check_name(checked["name"])
        if "target" in checked:
            target = checked["target"]
            if not isinstance(target, Money) or target.currency != self.target.currency or target.amount <= 0:
                raise InvalidInputError(f"the target is a positive amount in {self.target.currency}")
        if "account_ids" in checked:
            checked["account_ids"] = check_accounts(list(checked["account_ids"]))
        self._changed(checked)

    @event("Changed")
    def _changed(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    def delete(self) -> None:
        if self.deleted:
            raise IllegalTransitionError("the goal is deleted already")
        self._deleted()

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
