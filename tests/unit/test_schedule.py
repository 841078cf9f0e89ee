"""Schedules: recurrence dates, and each occurrence handled once and in order."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import IllegalTransitionError, InvalidInputError
from ledger.money import Money
from ledger.schedule import Frequency, Schedule, next_occurrence, nth_occurrence, occurrence_transaction_id

HOUSEHOLD = uuid.uuid4()


def terms(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Rent", "mode": "generate", "account_id": uuid.uuid4(), "kind": "expense",
        "amount": Money.of(Decimal("900.00"), "EUR"), "description": "Rent", "merchant": None,
        "category": None, "frequency": "monthly", "every": 1, "day": None,
        "start": dt.date(2026, 1, 31), "end": None, "grace_days": 3, "tolerance": 10,
    }  # fmt: skip
    return base | changes


def dates(schedule: Schedule, count: int) -> list[dt.date]:
    found: list[dt.date] = []
    on = schedule.next_due
    while on is not None and len(found) < count:
        found.append(on)
        on = schedule.following(on)
    return found


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months() -> None:
    schedule = Schedule.create(HOUSEHOLD, None, terms())
    assert dates(schedule, 4) == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
    ]


def test_a_day_before_the_start_day_begins_next_month_and_every_two_months_skips_one() -> None:
    schedule = Schedule.create(HOUSEHOLD, None, terms(start=dt.date(2026, 1, 20), day=5, every=2))
    assert dates(schedule, 3) == [dt.date(2026, 3, 5), dt.date(2026, 5, 5), dt.date(2026, 7, 5)]


def test_weekly_every_two_weeks_and_yearly_on_29_february() -> None:
    weekly = Schedule.create(HOUSEHOLD, None, terms(frequency="weekly", every=2, start=dt.date(2026, 11, 2)))
    assert dates(weekly, 3) == [dt.date(2026, 11, 2), dt.date(2026, 11, 16), dt.date(2026, 11, 30)]
    yearly = Schedule.create(HOUSEHOLD, None, terms(frequency="yearly", start=dt.date(2028, 2, 29)))
    assert dates(yearly, 2) == [dt.date(2028, 2, 29), dt.date(2029, 2, 28)]


def test_the_end_date_ends_the_schedule() -> None:
    schedule = Schedule.create(HOUSEHOLD, None, terms(start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 15)))
    assert dates(schedule, 10) == [dt.date(2026, 1, 1), dt.date(2026, 2, 1)]


@given(
    frequency=st.sampled_from(list(Frequency)),
    every=st.integers(1, 12),
    start=st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
    day=st.integers(1, 31),
    after=st.dates(dt.date(2019, 1, 1), dt.date(2040, 12, 31)),
)
def test_the_next_occurrence_is_the_first_of_the_sequence_after_a_day(
    frequency: Frequency, every: int, start: dt.date, day: int, after: dt.date
) -> None:
    day = day if frequency is Frequency.MONTHLY else start.day
    naive = next(
        on
        for n in range(10_000)
        if (on := nth_occurrence(frequency, every, start, day, n)) >= start and on > after
    )
    assert next_occurrence(frequency, every, start, day, after, None) == naive


def test_occurrences_are_generated_once_in_order() -> None:
    schedule = Schedule.create(HOUSEHOLD, None, terms(start=dt.date(2026, 1, 15)))
    first = dt.date(2026, 1, 15)
    schedule.generate(first, occurrence_transaction_id(schedule.id, first))
    assert schedule.next_due == dt.date(2026, 2, 15)
    with pytest.raises(IllegalTransitionError):
        schedule.generate(first, occurrence_transaction_id(schedule.id, first))  # twice
    with pytest.raises(IllegalTransitionError):
        schedule.generate(dt.date(2026, 3, 15), uuid.uuid4())  # skipping one
    with pytest.raises(IllegalTransitionError):
        schedule.pay(dt.date(2026, 2, 15), uuid.uuid4())  # not a bill
    assert occurrence_transaction_id(schedule.id, first) == occurrence_transaction_id(schedule.id, first)


def test_a_bill_is_paid_or_missed_once_per_occurrence() -> None:
    bill = Schedule.create(HOUSEHOLD, uuid.uuid4(), terms(mode="bill", start=dt.date(2026, 1, 10)))
    bill.pay(dt.date(2026, 1, 10), uuid.uuid4())
    bill.miss(dt.date(2026, 2, 10))
    assert bill.next_due == dt.date(2026, 3, 10)
    with pytest.raises(IllegalTransitionError):
        bill.miss(dt.date(2026, 2, 10))
    with pytest.raises(IllegalTransitionError):
        bill.generate(dt.date(2026, 3, 10), uuid.uuid4())


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "transfer"},
        {"amount": Money.of(Decimal(0), "EUR")},
        {"every": 0},
        {"day": 5, "frequency": "weekly"},
        {"end": dt.date(2025, 1, 1)},
        {"grace_days": 31},
        {"tolerance": 101},
        {"name": "  "},
    ],
)
def test_bad_terms_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        Schedule.create(HOUSEHOLD, None, terms(**bad))


def test_a_change_keeps_the_recurrence_and_an_earlier_end_moves_nothing_handled() -> None:
    schedule = Schedule.create(HOUSEHOLD, None, terms(start=dt.date(2026, 1, 1)))
    schedule.change({"amount": Money.of(Decimal("950.00"), "EUR"), "end": dt.date(2026, 1, 20)})
    assert schedule.amount.amount == Decimal("950.00")
    assert schedule.next_due == dt.date(2026, 1, 1)
    with pytest.raises(InvalidInputError):
        schedule.change({"amount": Money.of(Decimal("5.00"), "USD")})
    with pytest.raises(InvalidInputError):
        schedule.change({"frequency": "weekly"})
    version = schedule.version
    with pytest.raises(InvalidInputError):
        schedule.change({"end": dt.date(2025, 12, 1)})  # before the start
    assert schedule.version == version
