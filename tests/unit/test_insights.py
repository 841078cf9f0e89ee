"""Insights without a database: robust scores of unusual expenses, cadences of recurring ones."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queries.insights import (
    Expense,
    days_before,
    flag_unusual,
    judge,
    mad,
    mean_absolute_deviation,
    median,
    money,
    payee,
)
from queries.recurring import (
    CADENCES,
    Cadence,
    add_months,
    cadence_of,
    classify,
    find_recurring,
    intervals,
    is_active,
    monthly_cost,
    next_expected,
    stable,
)

D = Decimal
CADENCE = {c.name: c for c in CADENCES}


def spent(
    amount: str,
    on: dt.date,
    merchant: str | None = None,
    category: str | None = None,
    description: str = "",
    currency: str = "EUR",
) -> Expense:
    return Expense(uuid.uuid4(), on, description, merchant, category, D(amount), currency)


def dates_after(start: dt.date, gaps: list[int]) -> list[dt.date]:
    dates = [start]
    for gap in gaps:
        dates.append(dates[-1] + dt.timedelta(days=gap))
    return dates


# Robust statistics


def test_median_of_odd_and_even_counts() -> None:
    assert median([D(3), D(1), D(2)]) == 2
    assert median([D("12.99"), D("13.00")]) == D("12.995")
    with pytest.raises(ValueError, match="nothing"):
        median([])


def test_mad_and_mean_absolute_deviation_around_the_median() -> None:
    values = [D(n) for n in (1, 1, 2, 2, 4, 6, 9)]  # median 2, deviations 1 1 0 0 2 4 7
    assert mad(values) == 1
    assert mean_absolute_deviation(values) == D(15) / 7


def test_modified_z_score_flags_above_three_and_a_half() -> None:
    history = [D(n) for n in (10, 11, 12, 13, 14)]  # median 12, MAD 1
    high = judge(D(20), history)
    assert (high.median, high.mad, high.score, high.unusual) == (D(12), D(1), 5.4, True)  # 0.6745 * 8
    near = judge(D(17), history)
    assert (near.score, near.unusual) == (3.37, False)  # 0.6745 * 5


def test_only_high_amounts_are_unusual() -> None:
    low = judge(D(1), [D(n) for n in (100, 101, 102, 103, 104)])
    assert low.score < -3.5
    assert not low.unusual


def test_a_zero_mad_falls_back_to_the_mean_absolute_deviation() -> None:
    history = [D(n) for n in (5, 5, 5, 5, 7, 9)]  # MAD 0, mean absolute deviation 1
    assert mad(history) == 0
    assert judge(D(10), history).score == 3.99  # 5 / 1.253314
    assert judge(D(10), history).unusual
    assert not judge(D(9), history).unusual  # 4 / 1.253314 = 3.19


def test_a_constant_history_flags_from_twice_its_amount() -> None:
    history = [D("12.99")] * 6
    double = judge(D("25.98"), history)
    assert (double.mad, double.score, double.unusual) == (D(0), 3.5, True)
    assert not judge(D("25.97"), history).unusual
    assert judge(D("38.97"), history).score == 5.25  # scores keep growing with the ratio


def test_payee_is_the_merchant_else_the_description_without_numbers() -> None:
    assert payee("  Fresh  Mart ", "card 1234") == "fresh mart"
    assert payee(None, "NETFLIX.COM 4411-22") == "netflix com"
    assert payee("", "Rent 03/2026") == "rent"
    assert payee(None, "1234") == ""


def test_money_rounds_half_up_to_minor_units() -> None:
    assert money(D("12.995"), "EUR") == "13.00"
    assert money(D("1234.5"), "JPY") == "1235"
    assert money(D("1.0005"), "KWD") == "1.001"


# Unusual expenses among many


def test_flagged_by_category_and_merchant_once_with_both_reasons() -> None:
    start = dt.date(2026, 11, 1)
    history = [
        spent(amount, start - dt.timedelta(days=7 * n), "FreshMart", "groceries")
        for n, amount in enumerate(("60.00", "64.00", "70.00", "72.00", "75.00", "80.00"), 1)
    ]
    other_shop = [spent("900.00", start, "Corner Shop", "groceries")]  # merchant: no history
    big = spent("300.00", start + dt.timedelta(days=3), "FreshMart", "groceries")
    usual = spent("71.00", start + dt.timedelta(days=4), "FreshMart", "groceries")
    found = flag_unusual([*history, *other_shop, big, usual], start)
    assert [u.id for u in found] == [other_shop[0].id, big.id]  # 900 scores higher than 300
    assert [(r.by, r.group, r.median, r.mad, r.history) for r in found[1].reasons] == [
        ("category", "groceries", "71.00", "5.50", 6),  # deviations 11 7 1 1 4 9
        ("merchant", "FreshMart", "71.00", "5.50", 6),
    ]
    assert found[1].score == found[1].reasons[0].score == 28.08  # 0.6745 * 229 / 5.5
    assert [r.by for r in found[0].reasons] == ["category"]
    assert "300.00 EUR is far above the usual 71.00 EUR for category 'groceries'" in (
        found[1].reasons[0].sentence
    )


def test_small_groups_and_other_currencies_are_not_judged() -> None:
    start = dt.date(2026, 11, 1)
    four = [spent("10.00", start - dt.timedelta(days=n), "Cafe", "coffee") for n in range(1, 5)]
    pounds = [
        spent("10.00", start - dt.timedelta(days=n), "Pub", "drinks", currency="GBP") for n in range(1, 9)
    ]
    assert flag_unusual([*four, spent("100.00", start, "Cafe", "coffee")], start) == []
    assert flag_unusual([*pounds, spent("100.00", start, "Pub", "drinks")], start) == []  # EUR


# Cadences and recurring payments


@pytest.mark.parametrize(
    ("interval", "name"),
    [(7, "weekly"), (6, "weekly"), (14, "fortnightly"), (28, "monthly"), (33, "monthly"),
     (91, "quarterly"), (365, "yearly"), (375, "yearly")],
)  # fmt: skip
def test_a_median_interval_classifies_as_its_cadence(interval: int, name: str) -> None:
    cadence = classify(D(interval))
    assert cadence is not None
    assert cadence.name == name


@pytest.mark.parametrize("interval", [D(1), D("8.5"), D(20), D(34), D(60), D(200), D(376)])
def test_other_intervals_are_no_cadence(interval: Decimal) -> None:
    assert classify(interval) is None


def test_three_quarters_of_the_intervals_must_fit() -> None:
    start = dt.date(2026, 1, 5)
    assert cadence_of(dates_after(start, [30, 30, 30, 60])) == CADENCE["monthly"]  # one skipped month
    assert cadence_of(dates_after(start, [30, 30, 60, 60])) is None  # median 45
    assert cadence_of(dates_after(start, [30, 31, 10, 50])) is None  # median 30.5, half fit
    assert cadence_of(dates_after(start, [30])) is None  # two payments are no series
    assert intervals([dt.date(2026, 3, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)]) == [31, 28]


def test_stable_amounts_within_ten_percent_or_a_minor_unit() -> None:
    assert stable([D("12.99")] * 5 + [D("14.99")], "EUR")  # 5 of 6 the same
    assert not stable([D(n) for n in (50, 60, 70, 80, 90)], "EUR")  # only 70 within 7 of 70
    assert stable([D("0.05"), D("0.06"), D("0.05"), D("0.06")], "EUR")  # one cent of 0.055
    assert not stable([D("0.05"), D("0.08"), D("0.05"), D("0.08")], "EUR")


def test_next_expected_date_keeps_the_calendar() -> None:
    assert next_expected(dt.date(2026, 1, 31), CADENCE["monthly"]) == dt.date(2026, 2, 28)
    assert next_expected(dt.date(2028, 1, 31), CADENCE["monthly"]) == dt.date(2028, 2, 29)
    assert next_expected(dt.date(2026, 11, 30), CADENCE["quarterly"]) == dt.date(2027, 2, 28)
    assert next_expected(dt.date(2024, 2, 29), CADENCE["yearly"]) == dt.date(2025, 2, 28)
    assert next_expected(dt.date(2026, 12, 28), CADENCE["weekly"]) == dt.date(2027, 1, 4)
    assert next_expected(dt.date(2026, 12, 28), CADENCE["fortnightly"]) == dt.date(2027, 1, 11)
    assert add_months(dt.date(2026, 12, 15), 1) == dt.date(2027, 1, 15)
    assert next_expected(dt.date(9999, 12, 28), CADENCE["weekly"]) == dt.date.max  # no overflow
    assert next_expected(dt.date(9999, 12, 5), CADENCE["monthly"]) == dt.date.max


def test_windows_stop_at_the_calendars_first_day() -> None:
    assert days_before(dt.date(2026, 11, 30), 30) == dt.date(2026, 10, 31)
    assert days_before(dt.date(1, 1, 20), 365) == dt.date.min


def test_active_until_one_tolerance_late() -> None:
    monthly = CADENCE["monthly"]  # three days
    assert is_active(dt.date(2026, 11, 27), monthly, dt.date(2026, 11, 30))
    assert not is_active(dt.date(2026, 11, 26), monthly, dt.date(2026, 11, 30))
    assert is_active(dt.date(2026, 12, 5), monthly, dt.date(2026, 11, 30))


@pytest.mark.parametrize(
    ("amount", "cadence", "currency", "cost"),
    [("12.99", "monthly", "EUR", "12.99"), ("10.00", "weekly", "EUR", "43.33"),
     ("10.01", "weekly", "EUR", "43.38"), ("20.00", "fortnightly", "EUR", "43.33"),
     ("359.40", "yearly", "EUR", "29.95"), ("10.00", "quarterly", "EUR", "3.33"),
     ("0.06", "yearly", "EUR", "0.01"),  # 0.005: half up, not to even
     ("1000", "weekly", "JPY", "4333")],
)  # fmt: skip
def test_monthly_cost_rounds_half_up_to_minor_units(
    amount: str, cadence: str, currency: str, cost: str
) -> None:
    assert str(monthly_cost(D(amount), CADENCE[cadence], currency)) == cost


def test_subscriptions_and_varying_bills_by_monthly_cost() -> None:
    today = dt.date(2026, 11, 30)
    stream = [spent("12.99", dt.date(2026, m, 5), "StreamFlix") for m in range(6, 11)]
    stream.append(spent("14.99", dt.date(2026, 11, 5), "StreamFlix"))
    power = [spent(a, dt.date(2026, m, 20), description=f"POWER CO {m}") for m, a in
             ((7, "40.00"), (8, "55.00"), (9, "70.00"), (10, "62.00"))]  # fmt: skip
    gym = [spent("29.00", dt.date(2026, m, 10), "Gym") for m in (3, 4, 5, 6)]
    once = [spent("500.00", dt.date(2026, 9, 1), "Airline")]
    found = find_recurring([*stream, *power, *gym, *once], today)
    assert [(p.merchant, p.cadence, p.subscription, p.monthly_cost, p.active) for p in found] == [
        ("POWER CO 10", "monthly", False, "58.50", False),  # 10-20 + 1 month + 3 days < 11-30
        ("Gym", "monthly", True, "29.00", False),
        ("StreamFlix", "monthly", True, "12.99", True),
    ]
    streamflix = found[2]
    assert (streamflix.typical_amount, streamflix.last_amount, streamflix.price_changed) == (
        "12.99",
        "14.99",
        True,
    )
    assert (streamflix.first_date, streamflix.last_date, streamflix.next_expected) == (
        dt.date(2026, 6, 5),
        dt.date(2026, 11, 5),
        dt.date(2026, 12, 5),
    )
    assert streamflix.occurrences == 6


# Properties


@st.composite
def periodic(draw: st.DrawFn) -> tuple[Cadence, list[dt.date]]:
    """A series at one cadence, every interval jittered within the cadence's tolerance."""
    cadence = draw(st.sampled_from(CADENCES))
    start = draw(st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)))
    gaps = draw(st.lists(st.integers(cadence.low, cadence.high), min_size=2, max_size=40))
    return cadence, dates_after(start, gaps)


@given(periodic())
def test_a_periodic_series_is_detected_with_its_cadence(series: tuple[Cadence, list[dt.date]]) -> None:
    cadence, dates = series
    assert cadence_of(dates) == cadence


@given(st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)), st.integers(3, 36))
def test_the_same_day_every_month_is_monthly(start: dt.date, count: int) -> None:
    dates = [add_months(start, n) for n in range(count)]
    assert cadence_of(dates) == CADENCE["monthly"]


@st.composite
def scattered_gaps(draw: st.DrawFn) -> list[int]:
    """Four or more intervals spread over 1..203 days: each from its own 7-day slot (distinct
    slots), so at most two can share any band up to 7 days wide (weekly, fortnightly, monthly)."""
    slots = draw(st.lists(st.integers(0, 28), min_size=4, max_size=20, unique=True))
    return [1 + 7 * slot + draw(st.integers(0, 6)) for slot in slots]


@given(st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)), scattered_gaps())
def test_scattered_payments_are_not_weekly_fortnightly_or_monthly(start: dt.date, gaps: list[int]) -> None:
    cadence = cadence_of(dates_after(start, gaps))
    assert cadence is None or cadence.name in ("quarterly", "yearly")


@st.composite
def stable_history(draw: st.DrawFn) -> list[Decimal]:
    """Five or more amounts within 5 % of a base amount, in cents."""
    base = draw(st.decimals(D("1.00"), D("10000.00"), places=2))
    offsets = st.integers(-5, 5).map(lambda p: (base * (100 + p) / 100).quantize(D("0.01")))
    return draw(st.lists(offsets, min_size=5, max_size=60))


@given(stable_history())
def test_three_times_the_highest_amount_is_unusual(history: list[Decimal]) -> None:
    assert judge(3 * max(history), history).unusual


@given(stable_history(), st.floats(0, 1))
def test_an_amount_up_to_one_mad_above_the_median_is_not(history: list[Decimal], where: float) -> None:
    low, high = min(history), median(history) + mad(history)
    amount = (low + (high - low) * D(where)).quantize(D("0.01"), ROUND_FLOOR)
    assert not judge(amount, history).unusual
