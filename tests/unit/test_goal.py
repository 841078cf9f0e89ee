"""The Goal aggregate: refusals change nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from ledger.errors import DomainError, IllegalTransitionError, InvalidInputError, NotFoundError
from ledger.goal import Goal
from ledger.money import Money

A, B = uuid.UUID(int=1), uuid.UUID(int=2)


def goal() -> Goal:
    return Goal.create(
        uuid.UUID(int=9), None, "Car", Money.of(Decimal("5000"), "EUR"), [B, A, A], dt.date(2027, 1, 1)
    )


def test_accounts_are_unique_and_changes_apply() -> None:
    g = goal()
    assert g.account_ids == [A, B]
    g.change({"target": Money.of(Decimal("6000"), "EUR"), "target_date": None, "account_ids": [A]})
    assert (g.target.amount, g.target_date, g.account_ids) == (Decimal("6000"), None, [A])


@pytest.mark.parametrize(
    "change",
    [
        {"target": Money.of(Decimal("1"), "USD")},
        {"target": Money.of(Decimal("0"), "EUR")},
        {"account_ids": []},
        {"account_ids": [uuid.uuid4() for _ in range(21)]},
        {"name": "  "},
        {"colour": "red"},
        {},
    ],
)
def test_refused_changes_change_nothing(change: dict[str, object]) -> None:
    g = goal()
    before = (g.version, g.target, g.account_ids, g.name)
    with pytest.raises(InvalidInputError):
        g.change(change)
    assert (g.version, g.target, g.account_ids, g.name) == before


def test_a_deleted_goal_takes_no_changes() -> None:
    g = goal()
    g.delete()
    with pytest.raises(NotFoundError):
        g.change({"name": "Bike"})
    with pytest.raises(IllegalTransitionError):
        g.delete()
    with pytest.raises(DomainError):
        Goal.create(uuid.UUID(int=9), None, "Nothing", Money.of(Decimal("-1"), "EUR"), [A])
