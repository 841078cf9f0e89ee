"""The recorded-rate rule shared by analytics, budget vs actual and the budget alerts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledger.rates import convert_sums, latest_rates

D = Decimal
MAY_1, MAY_9 = dt.date(2026, 5, 1), dt.date(2026, 5, 9)


def test_a_rate_recorded_into_the_currency_is_used_as_is_and_the_other_way_inverted() -> None:
    rows = [("USD", "EUR", D("0.9"), MAY_1), ("EUR", "GBP", D("0.8"), MAY_1), ("USD", "GBP", D("0.7"), MAY_1)]
    assert latest_rates(rows, "EUR") == {"USD": (D("0.9"), MAY_1), "GBP": (D("1.25"), MAY_1)}


def test_when_both_directions_were_recorded_the_later_one_wins() -> None:
    rows = [("EUR", "USD", D("1.25"), MAY_9), ("USD", "EUR", D("0.9"), MAY_1)]
    assert latest_rates(rows, "EUR") == {"USD": (D("0.8"), MAY_9)}
    assert latest_rates(list(reversed(rows)), "EUR") == {"USD": (D("0.8"), MAY_9)}  # not by row order


def test_sums_convert_at_the_rates_and_report_what_they_used_and_could_not_convert() -> None:
    converted = convert_sums(
        {"EUR": D("10.00"), "USD": D("60.00"), "GBP": D("5.00")}, "EUR", lambda: {"USD": (D("0.9"), MAY_1)}
    )
    assert converted.total == D("64.0000")
    assert converted.used == {"USD"}
    assert converted.unconverted == {"GBP": D("5.00")}


def test_the_rates_are_read_only_when_an_amount_is_in_another_currency() -> None:
    def unread() -> dict[str, tuple[Decimal, dt.date]]:
        raise AssertionError("the rates were read for amounts all in the currency")

    assert convert_sums({"EUR": D("10.00")}, "EUR", unread).total == D("10.00")
    assert convert_sums({}, "EUR", unread).total == 0
