"""The household's recorded exchange rates, and sums in several currencies converted with them.

A household records a rate whenever it enters something paid in a foreign currency (the
foreign amount and the rate that gave the account's amount). Reports, budget vs actual and
the budget alerts convert amounts in other currencies with the latest rate recorded for the
pair, in either direction (the rate recorded as ours -> theirs is inverted); amounts in a
currency with no recorded rate are not converted, and the answer says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

# The SQL that reads the rates rows, newest first per pair, from a table with the columns
# household_id, original_currency, currency, rate, date and an ``order`` column for ties.
LATEST_RATES = (
    "SELECT DISTINCT ON (original_currency, currency) original_currency, currency, rate, date"
    " FROM {table} WHERE household_id = %s AND rate IS NOT NULL"
    " AND (currency = %s OR original_currency = %s)"
    " ORDER BY original_currency, currency, date DESC, {order} DESC"
)


def latest_rates(
    rows: Iterable[tuple[str, str, Decimal, dt.date]], currency: str
) -> dict[str, tuple[Decimal, dt.date]]:
    """Foreign currency -> (units of ``currency`` per unit, date) from the rows of
    :data:`LATEST_RATES` (original currency, account currency, rate, date): a rate recorded
    as theirs -> ours is used as is, one recorded as ours -> theirs is inverted; when both
    directions were recorded, the later date wins (the first row seen on a tie)."""
    found: dict[str, tuple[Decimal, dt.date]] = {}
    for original, account_currency, rate, on in rows:
        if account_currency == currency:
            other, value = original, Decimal(rate)
        elif original == currency:
            other, value = account_currency, 1 / Decimal(rate)
        else:
            continue
        if other not in found or on > found[other][1]:
            found[other] = (value, on)
    return found


@dataclass
class Converted:
    """A sum in one currency, the rates it used and what it could not convert."""

    total: Decimal = Decimal(0)
    used: set[str] = field(default_factory=set)
    unconverted: dict[str, Decimal] = field(default_factory=dict)


Rates = Mapping[str, tuple[Decimal, dt.date]]


def convert_sums(sums: Mapping[str, Decimal], currency: str, rates: Callable[[], Rates]) -> Converted:
    """Add up amounts by currency in ``currency`` at the recorded rates (unrounded);
    ``rates`` is asked for them only when an amount is in another currency (most sums are
    not, and reading the rates is a query)."""
    out = Converted()
    known: Rates = {}
    if any(code != currency for code in sums):
        known = rates()
    for code, amount in sums.items():
        if code == currency:
            out.total += amount
        elif code in known:
            out.total += amount * known[code][0]
            out.used.add(code)
        else:
            out.unconverted[code] = out.unconverted.get(code, Decimal(0)) + amount
    return out
