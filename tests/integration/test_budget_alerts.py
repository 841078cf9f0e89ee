"""Property test of the budget alerts follower on the real PostgreSQL: after any sequence of
record / backdate / recategorise / cancel, the follower's spending per period equals the sum
of the period's categorised expenses, and every threshold reached at some point is emitted
as exactly one BudgetThresholdCrossed event (none reached, none emitted). Expenses in other
currencies count at the household's recorded rates once one is recorded."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.alerts import relay_alerts
from commands.budgets import BudgetCommands
from commands.messages import CreateBudget, EditTransaction, Reason, Recategorise
from ledger.budget import Period, available, period_bounds
from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner
from tests.conftest import create_database, drop_database
from tests.integration.helpers import Books

pytestmark = pytest.mark.integration
COVERED = {"groceries", "coffee"}  # the food group's subcategories used here
CATEGORIES = ["groceries", "coffee", "fuel"]
THRESHOLDS = [50, 100]
DAYS = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 3, 31))

record = st.tuples(st.just("record"), st.integers(10, 120), st.sampled_from(CATEGORIES), DAYS)
operation = st.one_of(
    record,
    record,
    st.tuples(st.just("redate"), st.integers(0, 50), DAYS),
    st.tuples(st.just("recategorise"), st.integers(0, 50), st.sampled_from(CATEGORIES)),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[str, Books]]:
    database = create_database()
    books = Books(database)
    try:
        yield database, books
    finally:
        books.close()
        drop_database(database)


def spent(book: dict[uuid.UUID, dict[str, Any]], start: dt.date, end: dt.date) -> Decimal:
    return sum(
        (
            t["amount"]
            for t in book.values()
            if t["counted"] and t["category"] in COVERED and start <= t["date"] <= end
        ),
        Decimal(0),
    )


def reached(
    book: dict[uuid.UUID, dict[str, Any]], days: set[dt.date], limit: Decimal, rollover: bool
) -> set[Any]:
    """What the follower checks after a change: the periods of the dates (and the next ones
    with rollover), and the thresholds their spending reaches."""
    periods = {period_bounds(Period.MONTHLY, d) for d in days}
    if rollover:
        periods |= {period_bounds(Period.MONTHLY, end + dt.timedelta(days=1)) for _, end in list(periods)}
    found = set()
    for start, end in periods:
        before = (
            spent(book, *period_bounds(Period.MONTHLY, start - dt.timedelta(days=1))) if rollover else None
        )
        allowed = available(limit, rollover, before)
        found |= {(start, t) for t in THRESHOLDS if spent(book, start, end) * 100 >= allowed * t}
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.tuples(record, st.lists(operation, min_size=3, max_size=15)).map(lambda t: [t[0], *t[1]]),
    limit=st.integers(30, 150),
    rollover=st.booleans(),
)
def test_spending_and_alerts_follow_every_change(
    world: tuple[str, Books], ops: list[Any], limit: int, rollover: bool
) -> None:
    database, books = world
    household = uuid.uuid4()
    account = books.open(household)
    budget = BudgetCommands(books.ledger).create(
        household,
        CreateBudget(
            name="Food", categories=["food"], limit=f"{limit}.00", currency="EUR", thresholds=THRESHOLDS,
            rollover=rollover,
        ),
        None,
    ).id  # fmt: skip
    book: dict[uuid.UUID, dict[str, Any]] = {}
    expected: set[Any] = set()
    for op in ops:
        ids = list(book)
        if op[0] == "record":
            _, amount, category, day = op
            tid = books.record(household, "expense", account, f"{amount}.00", category=category, date=day)
            book[tid] = {"amount": Decimal(amount), "category": category, "date": day, "counted": True}
            touched = {day}
        elif not ids:
            continue
        else:
            tid = ids[op[1] % len(ids)]
            row = book[tid]
            if not row["counted"]:
                continue
            touched = {row["date"]}
            if op[0] == "redate":
                books.transactions.edit(household, tid, EditTransaction(date=op[2]), None)
                row["date"] = op[2]
                touched.add(op[2])
            elif op[0] == "recategorise":
                books.transactions.recategorise(household, tid, Recategorise(category=op[2]), None)
                row["category"] = op[2]
            else:
                books.transactions.cancel(household, tid, Reason(reason="test"), None)
                row["counted"] = False
        expected |= reached(book, touched, Decimal(limit), rollover)

    runner = ProjectionRunner(PROJECTIONS["budget_alerts"], database)
    runner.catch_up()
    runner.close()
    relay_alerts(books.ledger)
    relay_alerts(books.ledger)  # a second relay finds nothing new to append
    with psycopg.connect(database) as conn:
        for month in (1, 2, 3):
            start, end = period_bounds(Period.MONTHLY, dt.date(2026, month, 1))
            row = conn.execute(
                "SELECT coalesce(sum(amount), 0) FROM read_budget_alerts.expenses WHERE household_id = %s"
                " AND category = ANY(%s) AND counted AND date BETWEEN %s AND %s",
                (household, sorted(COVERED), start, end),
            ).fetchone()
            assert row is not None
            assert Decimal(row[0]) == spent(book, start, end), month
    found = [(start, threshold) for start, threshold, _ in alerts_of(database, books, budget)]
    assert len(found) == len(set(found))  # exactly once each
    assert set(found) == expected


def alerts_of(database: str, books: Books, budget: uuid.UUID) -> list[tuple[Any, ...]]:
    """The budget's BudgetThresholdCrossed events: (period start, threshold, spent), sorted."""
    with psycopg.connect(database) as conn:
        emitted = conn.execute(
            "SELECT state FROM eventstore.fiscaflow_events WHERE topic LIKE %s"
            " AND convert_from(state, 'UTF8') LIKE %s",
            ("%BudgetThresholdCrossed", f"%{budget.hex}%"),
        ).fetchall()
    alerts = [books.ledger.mapper.transcoder.decode(bytes(state)) for (state,) in emitted]
    return sorted((a["period_start"], a["threshold"], str(a["spent"])) for a in alerts)


def test_expenses_in_other_currencies_count_at_the_recorded_rates(world: tuple[str, Books]) -> None:
    database, books = world
    household = uuid.uuid4()
    euros = books.open(household, "Euros")
    dollars = books.open(household, "Dollars", currency="USD")
    pounds = books.open(household, "Pounds", currency="GBP")
    budget = (
        BudgetCommands(books.ledger)
        .create(
            household,
            CreateBudget(
                name="Food", categories=["food"], limit="100.00", currency="EUR", thresholds=[50, 100]
            ),
            None,
        )
        .id
    )
    may = dt.date(2026, 5, 3)
    books.record(household, "expense", dollars, "60.00", category="groceries", date=may)
    books.record(household, "expense", pounds, "500.00", category="groceries", date=may)  # never a rate

    def follow() -> list[tuple[Any, ...]]:
        runner = ProjectionRunner(PROJECTIONS["budget_alerts"], database)
        runner.catch_up()
        runner.close()
        relay_alerts(books.ledger)
        return alerts_of(database, books, budget)

    assert follow() == []  # no USD -> EUR rate yet: the dollars do not count, nor the pounds
    # A euro expense paid in dollars records the rate 0.90 EUR per USD: 60 USD are 54 EUR.
    books.record(household, "expense", euros, "9.00", category="travel", date=may, currency="USD", rate="0.9")
    assert follow() == [(dt.date(2026, 5, 1), 50, "54.00")]
    books.record(household, "expense", euros, "46.00", category="groceries", date=may)
    assert follow() == [(dt.date(2026, 5, 1), 50, "54.00"), (dt.date(2026, 5, 1), 100, "100.00")]
