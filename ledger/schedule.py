"""The Schedule aggregate: a recurring transaction (generated) or bill (expected).

A schedule recurs weekly, monthly or yearly, every ``every`` weeks, months or years, from
``start`` until ``end`` (if any). A monthly schedule falls on ``day`` of the month (the last
day of a shorter month); a yearly one on the start's month and day (28 February in a year
without the 29th). ``next_due`` is the first occurrence not yet handled:

- ``generate``: each occurrence records a transaction, whose id derives from (schedule,
  date), saved in one append with the ``Generated`` event that advances ``next_due``. An
  occurrence is generated once: a second attempt conflicts on the schedule's version and
  on the transaction's id.
- ``bill``: each occurrence expects a payment within ``grace_days`` of its date, of about
  the amount (``tolerance`` percent either way). A matching payment gives ``BillPaid``; an
  occurrence whose window passed without one gives ``BillMissed`` (a payment arriving later
  is not matched to it: the bill stays flagged, and the person can see the payment).
"""

from __future__ import annotations

import calendar
import datetime as dt
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.account import check_name
from ledger.errors import IllegalTransitionError, InvalidInputError, NotFoundError
from ledger.money import Money
from ledger.posting import EntryKind
from ledger.transaction import check_category, check_text

MAX_EVERY = 52
MAX_GRACE_DAYS = 30
CHANGEABLE = {"name", "amount", "description", "merchant", "category", "end", "grace_days", "tolerance"}


class Frequency(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


class Mode(StrEnum):
    GENERATE = "generate"
    BILL = "bill"


def _month_day(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def nth_occurrence(frequency: Frequency, every: int, start: dt.date, day: int, n: int) -> dt.date:
    """The n-th date (from 0) of the recurrence, before skipping dates ahead of ``start``."""
    if frequency is Frequency.WEEKLY:
        return start + dt.timedelta(weeks=every * n)
    if frequency is Frequency.MONTHLY:
        months = start.month - 1 + every * n
        return _month_day(start.year + months // 12, months % 12 + 1, day)
    return _month_day(start.year + every * n, start.month, start.day)


def next_occurrence(
    frequency: Frequency, every: int, start: dt.date, day: int, after: dt.date | None, end: dt.date | None
) -> dt.date | None:
    """The first occurrence on or after ``start`` and after ``after``; None past ``end``."""
    n = 0
    if after is not None and after >= start:  # jump to just before ``after`` (never past it), then step
        longest = {Frequency.WEEKLY: 7, Frequency.MONTHLY: 31, Frequency.YEARLY: 366}[frequency]
        n = max(0, (after - start).days // (longest * every) - 1)
    while True:
        on = nth_occurrence(frequency, every, start, day, n)
        if on >= start and (after is None or on > after):
            return on if end is None or on <= end else None
        n += 1


def check_recurrence(frequency: str, every: int, start: dt.date, day: int | None, end: dt.date | None) -> int:
    """The day of the month the schedule falls on (checked)."""
    Frequency(frequency)
    if not 1 <= every <= MAX_EVERY:
        raise InvalidInputError(f"every is 1 to {MAX_EVERY}")
    if end is not None and end < start:
        raise InvalidInputError("the end is on or after the start")
    if day is not None and (frequency != Frequency.MONTHLY or not 1 <= day <= 31):
        raise InvalidInputError("day is a day of the month (1 to 31), for a monthly schedule")
    return day or start.day


def check_bill_terms(grace_days: int, tolerance: int) -> None:
    if not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise InvalidInputError(f"grace_days is 0 to {MAX_GRACE_DAYS}")
    if not 0 <= tolerance <= 100:
        raise InvalidInputError("tolerance is a percentage from 0 to 100")


def occurrence_transaction_id(schedule_id: UUID, on: dt.date) -> UUID:
    """The id of the transaction an occurrence generates: a second one cannot be stored."""
    return uuid5(NAMESPACE_URL, f"fiscaflow:schedule:{schedule_id}:{on.isoformat()}")


class Schedule(Aggregate):
    @classmethod
    def create(cls, household_id: UUID, owner_id: UUID | None, terms: dict[str, Any]) -> Schedule:
        """``terms``: name, mode, account_id, kind, amount (Money), description, merchant,
        category, frequency, every, day, start, end, grace_days, tolerance."""
        checked = dict(terms)
        checked["name"] = check_name(checked["name"])
        checked["mode"] = Mode(checked["mode"])
        checked["kind"] = EntryKind(checked["kind"])
        if checked["kind"] is EntryKind.TRANSFER:
            raise InvalidInputError("a schedule records an expense or an income")
        if checked["amount"].amount <= 0:
            raise InvalidInputError("a schedule's amount is positive")
        checked["frequency"] = Frequency(checked["frequency"])
        checked["day"] = check_recurrence(
            checked["frequency"], checked["every"], checked["start"], checked["day"], checked["end"]
        )
        check_bill_terms(checked["grace_days"], checked["tolerance"])
        check_text("description", checked["description"])
        check_text("merchant", checked["merchant"])
        checked["category"] = check_category(checked["category"])
        first = next_occurrence(
            checked["frequency"], checked["every"], checked["start"], checked["day"], None, checked["end"]
        )
        return cls(household_id=household_id, owner_id=owner_id, terms=checked, next_due=first)

    @event("Created")
    def __init__(
        self, household_id: UUID, owner_id: UUID | None, terms: dict[str, Any], next_due: dt.date | None
    ) -> None:
        self.household_id = household_id
        self.owner_id = owner_id
        self.name: str = terms["name"]
        self.mode = Mode(terms["mode"])
        self.account_id: UUID = terms["account_id"]
        self.kind = EntryKind(terms["kind"])
        self.amount: Money = terms["amount"]
        self.description: str = terms["description"]
        self.merchant: str | None = terms["merchant"]
        self.category: str | None = terms["category"]
        self.frequency = Frequency(terms["frequency"])
        self.every: int = terms["every"]
        self.day: int = terms["day"]
        self.start: dt.date = terms["start"]
        self.end: dt.date | None = terms["end"]
        self.grace_days: int = terms["grace_days"]
        self.tolerance: int = terms["tolerance"]
        self.next_due = next_due
        self.deleted = False

    def following(self, on: dt.date) -> dt.date | None:
        return next_occurrence(self.frequency, self.every, self.start, self.day, on, self.end)

    def check_exists(self) -> None:
        if self.deleted:
            raise NotFoundError(f"no schedule {self.id}")

    def check_due(self, on: dt.date, mode: Mode) -> None:
        self.check_exists()
        if self.mode is not mode:
            raise IllegalTransitionError(f"the schedule is a {self.mode}, not a {mode}")
        if self.next_due != on:
            raise IllegalTransitionError(f"the next occurrence is {self.next_due}, not {on}")

    def change(self, changes: dict[str, Any]) -> None:
        self.check_exists()
        unknown = set(changes) - CHANGEABLE
        if unknown:
            raise InvalidInputError(f"fields not changeable: {sorted(unknown)}")
        if not changes:
            raise InvalidInputError("nothing to change")
        merged = {name: changes.get(name, getattr(self, name)) for name in CHANGEABLE}
        merged["name"] = check_name(merged["name"])
        if merged["amount"].currency != self.amount.currency or merged["amount"].amount <= 0:
            raise InvalidInputError(f"the amount is positive, in {self.amount.currency}")
        check_recurrence(self.frequency, self.every, self.start, None, merged["end"])
        check_bill_terms(merged["grace_days"], merged["tolerance"])
        check_text("description", merged["description"])
        check_text("merchant", merged["merchant"])
        merged["category"] = check_category(merged["category"])
        checked = {name: merged[name] for name in changes}
        after = None if self.next_due is None else self.next_due - dt.timedelta(days=1)
        next_due = next_occurrence(self.frequency, self.every, self.start, self.day, after, merged["end"])
        self._changed(checked, next_due if self.next_due is not None else None)

    @event("Changed")
    def _changed(self, changes: dict[str, Any], next_due: dt.date | None) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        self.next_due = next_due

    def generate(self, on: dt.date, transaction_id: UUID) -> None:
        self.check_due(on, Mode.GENERATE)
        self._generated(on, transaction_id, self.following(on))

    @event("Generated")
    def _generated(self, on: dt.date, transaction_id: UUID, next_due: dt.date | None) -> None:
        self.next_due = next_due

    def pay(self, on: dt.date, transaction_id: UUID) -> None:
        self.check_due(on, Mode.BILL)
        self._bill_paid(on, transaction_id, self.following(on))

    @event("BillPaid")
    def _bill_paid(self, on: dt.date, transaction_id: UUID, next_due: dt.date | None) -> None:
        self.next_due = next_due

    def miss(self, on: dt.date) -> None:
        self.check_due(on, Mode.BILL)
        self._bill_missed(on, self.household_id, self.owner_id, self.name, self.amount, self.following(on))

    @event("BillMissed")
    def _bill_missed(
        self,
        on: dt.date,
        household_id: UUID,
        owner_id: UUID | None,
        name: str,
        amount: Money,
        next_due: dt.date | None,
    ) -> None:
        self.next_due = next_due

    def delete(self) -> None:
        if self.deleted:
            raise IllegalTransitionError("the schedule is deleted already")
        self._deleted()

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
