"""Recurring payments and subscriptions: expenses to one payee at a steady cadence.

Expenses are grouped by payee (the merchant, else the description without numbers and
punctuation) and currency. A group of at least three is recurring when the median interval
between consecutive payments is one of the cadences below and at least 75 % of the intervals
fit that cadence (one late or skipped payment does not hide a subscription); it is a
subscription when at least 75 % of its amounts lie within 10 % (at least one minor unit) of
their median; otherwise its amount varies, like a utility bill's.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

import msgspec

from ledger.money import MINOR_UNITS
from queries.db import ReadStore
from queries.insights import Expense, days_before, expenses, median, money, payee

MIN_OCCURRENCES = 3
AMOUNT_BAND = Decimal("0.1")  # amounts within 10 % of the median are "the same"


@dataclass(frozen=True, slots=True)
class Cadence:
    name: str
    low: int  # an interval fits when low <= days <= high
    high: int
    months: int  # calendar months from one payment to the next (0: ``days``)
    days: int
    tolerance: int  # days late before the payments count as stopped
    per_year: int


CADENCES = (
    Cadence("weekly", 6, 8, months=0, days=7, tolerance=1, per_year=52),
    Cadence("fortnightly", 12, 16, months=0, days=14, tolerance=2, per_year=26),
    Cadence("monthly", 28, 33, months=1, days=0, tolerance=3, per_year=12),
    Cadence("quarterly", 84, 98, months=3, days=0, tolerance=7, per_year=4),
    Cadence("yearly", 355, 375, months=12, days=0, tolerance=10, per_year=1),
)


class RecurringPayment(msgspec.Struct, kw_only=True):
    """Three or more payments to one merchant at a weekly, fortnightly, monthly, quarterly or
    yearly cadence; a subscription when the amount is stable."""

    merchant: str  # as written on the latest payment
    cadence: str  # weekly, fortnightly, monthly, quarterly or yearly
    subscription: bool  # stable amount (true) or varying amount, like a utility bill (false)
    typical_amount: str  # the median
    last_amount: str
    price_changed: bool  # the latest amount differs from the one before
    currency: str
    occurrences: int
    first_date: dt.date
    last_date: dt.date
    next_expected: dt.date
    active: bool  # the next payment is not overdue by more than the cadence's tolerance
    monthly_cost: str  # the typical amount times payments per year, over 12


class RecurringReport(msgspec.Struct, kw_only=True):
    """The recurring payments found between two days, highest monthly cost first."""

    date_from: dt.date
    date_to: dt.date
    items: list[RecurringPayment]


def intervals(dates: Sequence[dt.date]) -> list[int]:
    """Days between consecutive dates, in date order."""
    ordered = sorted(dates)
    return [(b - a).days for a, b in itertools.pairwise(ordered)]


def classify(interval: Decimal) -> Cadence | None:
    """The cadence a (median) interval in days belongs to, if any."""
    return next((c for c in CADENCES if c.low <= interval <= c.high), None)


def mostly(hits: int, total: int) -> bool:
    """At least 75 %, in integers."""
    return total > 0 and 4 * hits >= 3 * total


def cadence_of(dates: Sequence[dt.date]) -> Cadence | None:
    """The cadence of payments on these dates, or None when they do not recur."""
    if len(dates) < MIN_OCCURRENCES:
        return None
    gaps = intervals(dates)
    cadence = classify(median([Decimal(g) for g in gaps]))
    if cadence is None or not mostly(sum(cadence.low <= g <= cadence.high for g in gaps), len(gaps)):
        return None
    return cadence


def stable(amounts: Sequence[Decimal], currency: str) -> bool:
    """At least 75 % of the amounts within 10 % (and at least one minor unit) of their median."""
    center = median(amounts)
    band = max(center * AMOUNT_BAND, Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2)))
    return mostly(sum(abs(a - center) <= band for a in amounts), len(amounts))


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def next_expected(last: dt.date, cadence: Cadence) -> dt.date:
    """One cadence after the last payment (the calendar's last day when that is beyond it)."""
    try:
        if cadence.months:
            return add_months(last, cadence.months)
        return last + dt.timedelta(days=cadence.days)
    except (OverflowError, ValueError):
        return dt.date.max


def is_active(following: dt.date, cadence: Cadence, today: dt.date) -> bool:
    return (today - following).days <= cadence.tolerance


def monthly_cost(amount: Decimal, cadence: Cadence, currency: str) -> Decimal:
    """What a payment at this cadence costs per month, rounded half up to minor units."""
    places = Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))
    return (amount * cadence.per_year / 12).quantize(places, ROUND_HALF_UP)


def recurring(group: Sequence[Expense], today: dt.date) -> RecurringPayment | None:
    """The group (one payee and currency, in date order) as a recurring payment, if it is one."""
    cadence = cadence_of([e.date for e in group])
    if cadence is None:
        return None
    amounts, currency, last = [e.amount for e in group], group[-1].currency, group[-1]
    typical, following = median(amounts), next_expected(last.date, cadence)
    return RecurringPayment(
        merchant=last.merchant or last.description, cadence=cadence.name,
        subscription=stable(amounts, currency), typical_amount=money(typical, currency),
        last_amount=money(last.amount, currency), price_changed=amounts[-1] != amounts[-2],
        currency=currency, occurrences=len(group), first_date=group[0].date, last_date=last.date,
        next_expected=following, active=is_active(following, cadence, today),
        monthly_cost=str(monthly_cost(typical, cadence, currency)),
    )  # fmt: skip


def find_recurring(found: Sequence[Expense], today: dt.date) -> list[RecurringPayment]:
    """The recurring payments among these expenses, by monthly cost (the number, whatever the
    currency), highest first."""
    groups: dict[tuple[str, str], list[Expense]] = defaultdict(list)
    for e in sorted(found, key=lambda e: e.date):
        if key := payee(e.merchant, e.description):
            groups[key, e.currency].append(e)
    payments = [p for group in groups.values() if (p := recurring(group, today))]
    return sorted(payments, key=lambda p: (-Decimal(p.monthly_cost), p.merchant.casefold(), p.currency))


def recurring_payments(
    store: ReadStore, household_id: UUID, viewer: UUID, today: dt.date, lookback: int = 800
) -> RecurringReport:
    """The recurring payments of the ``lookback`` days up to ``today``."""
    since = days_before(today, lookback)
    found = find_recurring(expenses(store, household_id, viewer, since, today), today)
    return RecurringReport(date_from=since, date_to=today, items=found)
