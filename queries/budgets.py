"""Budgets with their spending: expenses in the budget's categories (a group covers its
subcategories), dated in the period, not cancelled (pending holds count), as the viewer
sees them (transactions of accounts hidden from the viewer are left out). Expenses in other
currencies than the budget's count converted at the household's recorded rates (the rule of
ledger.rates, as in analytics); the period lists the rates used and what had no rate."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.budget import Period, available, period_bounds, previous_period
from ledger.categories import DEFAULT_TREE
from ledger.errors import NotFoundError
from ledger.money import MINOR_UNITS, Money
from ledger.rates import Converted, Rates, convert_sums
from queries.analytics import rates_used, recorded_rates
from queries.db import BUDGETS_SCHEMA, CATEGORIES_SCHEMA, TRANSACTIONS_SCHEMA, ReadStore
from queries.transactions import hidden_accounts
from queries.views import BudgetAlertView, BudgetView, PeriodView

VISIBLE = "(b.private = false OR b.owner_id = %s OR %s::uuid IS NULL)"


def covered(curs: Any, household_id: UUID, categories: list[str]) -> list[str]:
    """The categories and, for a group, its subcategories (lower-cased)."""
    wanted = {c.casefold() for c in categories}
    query = f"SELECT name, parent FROM {CATEGORIES_SCHEMA}.categories WHERE household_id = %s"  # noqa: S608
    curs.execute(query, (household_id,))
    tree = [(r["name"], r["parent"]) for r in curs.fetchall()] or [(n, p) for n, p, _ in DEFAULT_TREE]
    found = set(wanted)
    for name, parent in tree:
        if parent is not None and parent.casefold() in wanted:
            found.add(name.casefold())
    return sorted(found)


def household_rates(curs: Any, household_id: UUID) -> Callable[[str], Rates]:
    """The household's recorded rates into a currency, read once per currency when asked."""
    return functools.cache(lambda currency: recorded_rates(curs, household_id, currency))


def spent(
    curs: Any,
    household_id: UUID,
    names: list[str],
    currency: str,
    start: dt.date,
    end: dt.date,
    viewer: UUID | None,
    rates: Callable[[], Rates],
) -> Converted:
    """The period's spending in the budget's categories, in ``currency`` (other currencies
    converted at the recorded ``rates``), unrounded."""
    clauses = ["t.household_id = %s", "t.kind = 'expense'", "t.status <> 'cancelled'",
               "lower(t.category) = ANY(%s)", "t.date BETWEEN %s AND %s"]  # fmt: skip
    params: list[Any] = [household_id, names, start, end]
    hidden = hidden_accounts(curs, household_id, viewer)
    if hidden:
        clauses.append("NOT (t.account_ids && %s::uuid[])")
        params.append(hidden)
    curs.execute(
        f"SELECT t.currency, sum(amount) AS spent FROM {TRANSACTIONS_SCHEMA}.transactions t"  # noqa: S608
        f" WHERE {' AND '.join(clauses)} GROUP BY t.currency",
        params,
    )
    return convert_sums({r["currency"]: Decimal(r["spent"]) for r in curs.fetchall()}, currency, rates)


def _view(
    curs: Any, row: dict[str, Any], on: dt.date, viewer: UUID | None, rates_in: Callable[[str], Rates]
) -> BudgetView:
    period = Period(row["period"])
    household = row["household_id"]
    names = covered(curs, household, list(row["categories"]))
    start, end = period_bounds(period, on)
    currency = row["currency"]
    rates = functools.partial(rates_in, currency)
    limit = Money.of(row["amount"], currency)
    before = None
    if row["rollover"]:
        previous = previous_period(period, start)
        before = spent(curs, household, names, currency, *previous, viewer, rates).total
    allowed = available(limit.amount, row["rollover"], before)
    this = spent(curs, household, names, currency, start, end, viewer, rates)
    used = this.total
    percent = float(used * 100 / allowed) if allowed else 0.0
    places = Decimal(1).scaleb(-MINOR_UNITS[currency])  # converted sums have more decimals

    def q(amount: Decimal, currency: str) -> Money:
        return Money.of(amount.quantize(places), currency)

    return BudgetView(
        id=row["budget_id"],
        name=row["name"],
        categories=list(row["categories"]),
        covers=names,
        period=str(period),
        limit=str(limit.amount),
        currency=currency,
        rollover=row["rollover"],
        thresholds=list(row["thresholds"]),
        private=row["private"],
        owner_id=row["owner_id"],
        version=row["version"],
        current=PeriodView(
            start=start,
            end=end,
            limit=str(limit.amount),
            carried_over=str(q(allowed - limit.amount, currency).amount),
            available=str(q(allowed, currency).amount),
            spent=str(q(used, currency).amount),
            remaining=str(q(allowed - used, currency).amount),
            percent=round(percent, 2),
            thresholds_reached=[t for t in row["thresholds"] if percent >= t],
            rates=rates_used(rates(), this.used, currency) if this.used else [],
            unconverted={c: str(a) for c, a in sorted(this.unconverted.items())},
        ),
    )


def list_budgets(store: ReadStore, household_id: UUID, viewer: UUID | None, on: dt.date) -> list[BudgetView]:
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {BUDGETS_SCHEMA}.budgets b WHERE household_id = %s AND NOT deleted"  # noqa: S608
            f" AND {VISIBLE} ORDER BY name, budget_id",
            (household_id, viewer, viewer),
        )
        rates_in = household_rates(curs, household_id)
        return [_view(curs, row, on, viewer, rates_in) for row in curs.fetchall()]


def get_budget(
    store: ReadStore, household_id: UUID, budget_id: UUID, viewer: UUID | None, on: dt.date
) -> BudgetView:
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {BUDGETS_SCHEMA}.budgets b WHERE household_id = %s AND budget_id = %s"  # noqa: S608
            f" AND NOT deleted AND {VISIBLE}",
            (household_id, budget_id, viewer, viewer),
        )
        row = curs.fetchone()
        if row is None:
            raise NotFoundError(f"no budget {budget_id}")
        return _view(curs, row, on, viewer, household_rates(curs, household_id))


def budget_alerts(
    store: ReadStore, household_id: UUID, budget_id: UUID, viewer: UUID | None
) -> list[BudgetAlertView]:
    """The alerts of a budget the viewer can see, newest period first."""
    get_budget(store, household_id, budget_id, viewer, dt.date.today())
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {BUDGETS_SCHEMA}.alerts WHERE budget_id = %s"  # noqa: S608
            " ORDER BY period_start DESC, threshold",
            (budget_id,),
        )
        return [
            BudgetAlertView(
                id=r["alert_id"],
                period_start=r["period_start"],
                period_end=r["period_end"],
                threshold=r["threshold"],
                spent=str(r["spent"]),
                available=str(r["available"]),
                currency=r["currency"],
                crossed_at=r["crossed_at"],
            )
            for r in curs.fetchall()
        ]
