"""The Budget aggregate: periods, rollover, thresholds, privacy, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.budget import Budget, Period, available, period_bounds, previous_period
from ledger.errors import DomainError, ForbiddenError, InvalidInputError, NotFoundError
from ledger.money import Money

HOUSEHOLD, OWNER, OTHER = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)


def budget(**more: object) -> Budget:
    options: dict[str, object] = {"rollover": False, "thresholds": [80, 50, 100, 80], "private": False} | more
    return Budget.create(
        HOUSEHOLD, OWNER, "Food", ["food", "Food", "coffee"], "monthly", Money.of(Decimal("400"), "EUR"),
        **options,  # type: ignore[arg-type]
    )  # fmt: skip


@given(
    st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2200, 12, 31)), st.sampled_from(list(Period))
)
def test_every_day_lies_in_exactly_one_period_and_periods_tile(day: dt.date, period: Period) -> None:
    start, end = period_bounds(period, day)
    assert start <= day <= end
    assert period_bounds(period, start) == period_bounds(period, end) == (start, end)
    before = previous_period(period, start)
    assert before[1] == start - dt.timedelta(days=1)
    if period is Period.WEEKLY:
        assert start.weekday() == 0 and (end - start).days == 6
    elif period is Period.MONTHLY:
        assert start.day == 1 and (end + dt.timedelta(days=1)).day == 1
    else:
        assert (start.month, start.day, end.month, end.day) == (1, 1, 12, 31)


def test_rollover_carries_only_what_was_left() -> None:
    assert available(Decimal(100), True, Decimal(30)) == Decimal(170)
    assert available(Decimal(100), True, Decimal(130)) == Decimal(100)  # overspent: nothing carried
    assert available(Decimal(100), False, Decimal(30)) == Decimal(100)
    assert available(Decimal(100), True, None) == Decimal(100)


def test_categories_and_thresholds_are_normalised() -> None:
    b = budget()
    assert b.categories == ["coffee", "Food"]  # one per name, whatever the case
    assert b.thresholds == [50, 80, 100]
    assert b.available(Decimal(0)) == Decimal(400)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"limit": Money.of(Decimal("10"), "USD")}, InvalidInputError),
        ({"limit": Money.of(Decimal("0"), "EUR")}, InvalidInputError),
        ({"thresholds": []}, InvalidInputError),
        ({"thresholds": [0]}, InvalidInputError),
        ({"categories": []}, InvalidInputError),
        ({"categories": ["a:b"]}, InvalidInputError),
        ({"period": "weekly"}, InvalidInputError),
        ({}, InvalidInputError),
    ],
)
def test_refused_changes_change_nothing(change: dict[str, object], error: type[DomainError]) -> None:
    b = budget()
    before = (b.version, b.limit, b.thresholds, b.categories)
    with pytest.raises(error):
        b.change(OWNER, change)
    assert (b.version, b.limit, b.thresholds, b.categories) == before


def test_a_private_budget_is_invisible_to_other_members() -> None:
    b = budget(private=True)
    for act in (
        lambda: b.change(OTHER, {"name": "Mine"}),
        lambda: b.delete(OTHER),
        lambda: b.check_visible_to(OTHER),
    ):
        with pytest.raises(NotFoundError):
            act()
    b.check_visible_to(None)  # the system sees everything
    shared = budget()
    with pytest.raises(ForbiddenError):
        shared.change(OTHER, {"private": True})
    shared.change(OTHER, {"limit": Money.of(Decimal("500"), "EUR")})
    assert shared.limit.amount == Decimal("500")
    shared.delete(OWNER)
    with pytest.raises(NotFoundError):
        shared.delete(OWNER)


@pytest.mark.parametrize(
    "bad",
    [
        {"limit": Money.of(Decimal("-1"), "EUR")},
        {"period": "daily"},
        {"owner": None, "private": True},
    ],
)
def test_a_budget_is_created_only_from_valid_input(bad: dict[str, object]) -> None:
    owner = bad.pop("owner", OWNER)
    limit = bad.pop("limit", Money.of(Decimal("1"), "EUR"))
    period = bad.pop("period", "monthly")
    with pytest.raises(InvalidInputError):
        Budget.create(HOUSEHOLD, owner, "B", ["food"], period, limit, **bad)  # type: ignore[arg-type]
