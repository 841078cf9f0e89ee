"""The Budget aggregate: a spending limit per period for categories (or category groups).

A budget covers the expenses recorded in its categories (a group covers its subcategories
too) and dated within a period: a week (Monday to Sunday), a calendar month or a calendar
year. With ``rollover``, what the previous period left unspent is added to this period's
limit (one period back; an overspent period carries nothing over). ``thresholds`` are the
percentages of the available amount at which an alert fires. A ``private`` budget is seen
and changed by its owner only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.account import check_name
from ledger.errors import ForbiddenError, IllegalTransitionError, InvalidInputError, NotFoundError
from ledger.money import Money
from ledger.transaction import check_category

MAX_CATEGORIES = 50
DEFAULT_THRESHOLDS = (50, 80, 100)


class Period(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


def period_bounds(period: Period, day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the period that contains ``day``."""
    if period is Period.WEEKLY:
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    if period is Period.MONTHLY:
        start = day.replace(day=1)
        following = (start + dt.timedelta(days=32)).replace(day=1)
        return start, following - dt.timedelta(days=1)
    return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)


def previous_period(period: Period, start: dt.date) -> tuple[dt.date, dt.date]:
    return period_bounds(period, start - dt.timedelta(days=1))


def check_thresholds(thresholds: list[int]) -> list[int]:
    if not 1 <= len(thresholds) <= 10:
        raise InvalidInputError("a budget has 1 to 10 alert thresholds")
    if any(not isinstance(t, int) or not 1 <= t <= 1000 for t in thresholds):
        raise InvalidInputError("a threshold is a whole percentage from 1 to 1000")
    return sorted(set(thresholds))


def check_categories(categories: list[str]) -> list[str]:
    if not 1 <= len(categories) <= MAX_CATEGORIES:
        raise InvalidInputError(f"a budget covers 1 to {MAX_CATEGORIES} categories")
    checked = [check_category(c) or "" for c in categories]
    return sorted({c.casefold(): c for c in checked}.values(), key=str.casefold)


class Budget(Aggregate):
    @classmethod
    def create(
        cls,
        household_id: UUID,
        owner_id: UUID | None,
        name: str,
        categories: list[str],
        period: str,
        limit: Money,
        *,
        rollover: bool = False,
        thresholds: list[int] | None = None,
        private: bool = False,
    ) -> Budget:
        if limit.amount <= 0:
            raise InvalidInputError("a budget's limit is positive")
        try:
            checked_period = Period(period)
        except ValueError:
            raise InvalidInputError("a period is weekly, monthly or yearly") from None
        if private and owner_id is None:
            raise InvalidInputError("a private budget needs an owner")
        return cls(
            household_id=household_id,
            owner_id=owner_id,
            name=check_name(name),
            categories=check_categories(categories),
            period=checked_period,
            limit=limit,
            rollover=rollover,
            thresholds=check_thresholds(list(thresholds or DEFAULT_THRESHOLDS)),
            private=private,
        )

    @event("Created")
    def __init__(
        self,
        household_id: UUID,
        owner_id: UUID | None,
        name: str,
        categories: list[str],
        period: Period,
        limit: Money,
        rollover: bool,
        thresholds: list[int],
        private: bool,
    ) -> None:
        self.household_id = household_id
        self.owner_id = owner_id
        self.name = name
        self.categories = list(categories)
        self.period = Period(period)
        self.limit = limit
        self.rollover = rollover
        self.thresholds = list(thresholds)
        self.private = private
        self.deleted = False

    def check_visible_to(self, actor: UUID | None) -> None:
        """A private budget does not exist for anyone but its owner (and the system)."""
        if self.deleted or (self.private and actor is not None and actor != self.owner_id):
            raise NotFoundError(f"no budget {self.id}")

    def change(self, actor: UUID | None, changes: dict[str, Any]) -> None:
        self.check_visible_to(actor)
        allowed = {"name", "categories", "limit", "rollover", "thresholds", "private"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidInputError(f"fields not changeable: {sorted(unknown)}")
        if not changes:
            raise InvalidInputError("nothing to change")
        checked = dict(changes)
        if "name" in checked:
            checked["name"] = check_name(checked["name"])
        if "categories" in checked:
            checked["categories"] = check_categories(checked["categories"])
        if "thresholds" in checked:
            checked["thresholds"] = check_thresholds(checked["thresholds"])
        if "limit" in checked:
            limit = checked["limit"]
            if not isinstance(limit, Money) or limit.currency != self.limit.currency or limit.amount <= 0:
                raise InvalidInputError(f"the limit is a positive amount in {self.limit.currency}")
            checked["limit"] = limit
        if checked.get("private") and self.owner_id is None:
            raise InvalidInputError("a private budget needs an owner")
        if "private" in checked and actor is not None and self.owner_id not in (None, actor):
            raise ForbiddenError("only the budget's owner decides whether it is private")
        self._changed(checked)

    @event("Changed")
    def _changed(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    def delete(self, actor: UUID | None) -> None:
        self.check_visible_to(actor)
        if self.deleted:
            raise IllegalTransitionError("the budget is deleted already")
        self._deleted()

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True

    def available(self, spent_before: Decimal | None) -> Decimal:
        return available(self.limit.amount, self.rollover, spent_before)


def available(limit: Decimal, rollover: bool, spent_before: Decimal | None) -> Decimal:
    """A period's limit, plus what the previous period left unspent (with rollover; an
    overspent period carries nothing over)."""
    carried = Decimal(0)
    if rollover and spent_before is not None:
        carried = max(Decimal(0), limit - spent_before)
    return limit + carried


def alert_id(budget_id: UUID, period_start: dt.date, threshold: int) -> UUID:
    """One alert per budget, period and threshold: the id says which, so the event store
    itself refuses a second one."""
    return uuid5(NAMESPACE_URL, f"fiscaflow:budget-alert:{budget_id}:{period_start.isoformat()}:{threshold}")


class BudgetAlert(Aggregate):
    """A budget's spending reached a threshold in a period (emitted once, by the follower)."""

    class BudgetThresholdCrossed(Aggregate.Created):
        household_id: UUID
        budget_id: UUID
        period_start: dt.date
        period_end: dt.date
        threshold: int
        spent: Decimal
        available: Decimal
        currency: str

    @classmethod
    def crossed(
        cls,
        household_id: UUID,
        budget_id: UUID,
        period: tuple[dt.date, dt.date],
        threshold: int,
        spent: Decimal,
        allowed: Decimal,
        currency: str,
    ) -> BudgetAlert:
        return cls._create(
            cls.BudgetThresholdCrossed,
            id=alert_id(budget_id, period[0], threshold),
            household_id=household_id,
            budget_id=budget_id,
            period_start=period[0],
            period_end=period[1],
            threshold=threshold,
            spent=spent,
            available=allowed,
            currency=currency,
        )

    @event(BudgetThresholdCrossed)
    def __init__(
        self,
        household_id: UUID,
        budget_id: UUID,
        period_start: dt.date,
        period_end: dt.date,
        threshold: int,
        spent: Decimal,
        available: Decimal,
        currency: str,
    ) -> None:
        self.household_id = household_id
        self.budget_id = budget_id
        self.period_start = period_start
        self.period_end = period_end
        self.threshold = threshold
        self.spent = spent
        self.available = available
        self.currency = currency
