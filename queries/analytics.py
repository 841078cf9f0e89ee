"""Analytics over the transactions read model: spending by category, merchant, account or
period; trends month over month; reports with a grouping of your choice; the dashboard.

Every figure is the household's, as the viewer sees it (transactions of accounts hidden from
the viewer are left out), without cancelled entries; pending holds count. Amounts in other
currencies than the report's are converted at the rates the household recorded (the latest
rate recorded for that pair on a foreign-currency entry, in either direction); the answer
lists the rates it used, and the currencies it could not convert are reported apart.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from ledger.errors import InvalidInputError
from ledger.money import MINOR_UNITS
from ledger.rates import LATEST_RATES, Rates, latest_rates
from queries.db import ReadStore
from queries.transactions import S, hidden_accounts
from queries.views import Rate

GROUPS = {
    "category": "coalesce(t.category, 'uncategorised')",
    "merchant": "coalesce(t.merchant, t.description)",
    "account": "t.account_id::text",
    "kind": "t.kind",
    "month": "to_char(t.date, 'YYYY-MM')",
    "week": "to_char(t.date, 'IYYY-\"W\"IW')",
    "day": "t.date::text",
    "currency": "t.currency",
}


class Row(msgspec.Struct, kw_only=True):
    key: list[str]  # one value per group-by field
    amount: str
    count: int


class Report(msgspec.Struct, kw_only=True):
    currency: str
    group_by: list[str]
    date_from: dt.date | None
    date_to: dt.date | None
    rows: list[Row]
    total: str
    rates: list[Rate]  # the recorded rates used to convert other currencies
    unconverted: dict[str, str]  # amounts in currencies with no recorded rate, not in the rows


@dataclass(frozen=True, slots=True)
class Filters:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    kind: str | None = "expense"
    account_id: UUID | None = None
    category: str | None = None


def _where(household_id: UUID, f: Filters, hidden: list[UUID]) -> tuple[str, list[Any]]:
    """The filters, and: a transaction touching an account hidden from the viewer is left out."""
    clauses, params = ["t.household_id = %s", "t.status <> 'cancelled'"], [household_id]
    if hidden:
        clauses.append("NOT (t.account_ids && %s::uuid[])")
        params.append(hidden)
    for clause, value in (
        ("t.date >= %s", f.date_from),
        ("t.date <= %s", f.date_to),
        ("t.kind = %s", f.kind),
        ("%s = ANY(t.account_ids)", f.account_id),
        ("lower(t.category) = lower(%s)", f.category),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return " AND ".join(clauses), params


def recorded_rates(curs: Any, household_id: UUID, currency: str) -> dict[str, tuple[Decimal, dt.date]]:
    """Foreign currency -> (units of ``currency`` per unit, date), the latest recorded."""
    curs.execute(
        LATEST_RATES.format(table=f"{S}.transactions", order="recorded_at"),
        (household_id, currency, currency),
    )
    rows = [(r["original_currency"], r["currency"], r["rate"], r["date"]) for r in curs.fetchall()]
    return latest_rates(rows, currency)


def rates_used(rates: Rates, used: set[str], currency: str) -> list[Rate]:
    """The rates an answer used, for the answer to say so."""
    return [
        Rate(source=c, target=currency, rate=str(rates[c][0].normalize()), recorded_on=rates[c][1])
        for c in sorted(used)
    ]


def report(
    store: ReadStore,
    household_id: UUID,
    group_by: list[str],
    filters: Filters,
    currency: str,
    viewer: UUID | None,
    limit: int = 1000,
    rates: dict[str, tuple[Decimal, dt.date]] | None = None,
) -> Report:
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown or not 1 <= len(group_by) <= 3 or len(set(group_by)) != len(group_by):
        raise InvalidInputError(f"group by 1 to 3 of {', '.join(GROUPS)}")
    if currency not in MINOR_UNITS:
        raise InvalidInputError(f"unknown currency {currency!r}")
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise InvalidInputError("date_from is after date_to")
    keys = ", ".join(f"{GROUPS[g]} AS g{n}" for n, g in enumerate(group_by))
    grouping = ", ".join(f"g{n}" for n in range(len(group_by)))
    places = Decimal(1).scaleb(-MINOR_UNITS[currency])
    with store.cursor() as curs:
        if rates is None:
            rates = recorded_rates(curs, household_id, currency)
        where, params = _where(household_id, filters, hidden_accounts(curs, household_id, viewer))
        curs.execute(
            f"SELECT {keys}, t.currency AS cur, sum(t.amount) AS amount, count(*) AS n"  # noqa: S608
            f" FROM {S}.transactions t WHERE {where} GROUP BY {grouping}, t.currency",
            params,
        )
        totals: dict[tuple[str, ...], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
        unconverted: dict[str, Decimal] = defaultdict(Decimal)
        used: set[str] = set()
        for row in curs.fetchall():
            key = tuple(str(row[f"g{n}"]) for n in range(len(group_by)))
            amount = Decimal(row["amount"])
            if row["cur"] != currency:
                if row["cur"] not in rates:
                    unconverted[row["cur"]] += amount
                    continue
                amount *= rates[row["cur"]][0]
                used.add(row["cur"])
            totals[key][0] += amount
            totals[key][1] += row["n"]
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
    rows = [Row(key=list(k), amount=str(v[0].quantize(places)), count=v[1]) for k, v in ordered]
    if "month" in group_by or "week" in group_by or "day" in group_by:
        rows.sort(key=lambda r: r.key)
    total = sum((v[0] for v in totals.values()), Decimal(0)).quantize(places)
    return Report(
        currency=currency,
        group_by=group_by,
        date_from=filters.date_from,
        date_to=filters.date_to,
        rows=rows,
        total=str(total),
        rates=rates_used(rates, used, currency),
        unconverted={c: str(a) for c, a in sorted(unconverted.items())},
    )


def main_currency(store: ReadStore, household_id: UUID) -> str:
    """The currency most of the household's accounts hold (EUR for a new household)."""
    with store.cursor() as curs:
        curs.execute(
            "SELECT currency, count(*) AS n FROM read_accounts.accounts WHERE household_id = %s"
            " GROUP BY currency ORDER BY n DESC, currency LIMIT 1",
            (household_id,),
        )
        row = curs.fetchone()
    return str(row["currency"]) if row else "EUR"


class MonthTrend(msgspec.Struct, kw_only=True):
    month: str
    spent: str
    earned: str
    net: str
    spent_change: float | None  # percent against the month before
    spent_rolling_3: str  # average spending of this and the two months before


class Trends(msgspec.Struct, kw_only=True):
    currency: str
    months: list[MonthTrend]
    rates: list[Rate]
    unconverted: dict[str, str]


def month_starts(last: dt.date, count: int) -> list[dt.date]:
    months, current = [], last.replace(day=1)
    for _ in range(count):
        months.append(current)
        current = (current - dt.timedelta(days=1)).replace(day=1)
    return list(reversed(months))


def trends(
    store: ReadStore, household_id: UUID, currency: str, months: int, until: dt.date, viewer: UUID | None
) -> Trends:
    starts = month_starts(until, months + 2)  # two more for the first rolling averages
    filters = Filters(date_from=starts[0], date_to=until, kind=None)
    by_month = report(store, household_id, ["month", "kind"], filters, currency, viewer)
    sums: dict[tuple[str, str], Decimal] = {(r.key[0], r.key[1]): Decimal(r.amount) for r in by_month.rows}
    out: list[MonthTrend] = []
    places = Decimal(1).scaleb(-MINOR_UNITS[currency])
    spent_series = [sums.get((s.strftime("%Y-%m"), "expense"), Decimal(0)) for s in starts]
    for n, start in enumerate(starts):
        if n < 2:
            continue
        label = start.strftime("%Y-%m")
        spent, earned = spent_series[n], sums.get((label, "income"), Decimal(0))
        previous = spent_series[n - 1]
        change = None if previous == 0 else round(float((spent - previous) * 100 / previous), 2)
        rolling = sum(spent_series[n - 2 : n + 1], Decimal(0)) / 3
        out.append(
            MonthTrend(
                month=label,
                spent=str(spent.quantize(places)),
                earned=str(earned.quantize(places)),
                net=str((earned - spent).quantize(places)),
                spent_change=change,
                spent_rolling_3=str(rolling.quantize(places)),
            )
        )
    return Trends(currency=currency, months=out, rates=by_month.rates, unconverted=by_month.unconverted)
