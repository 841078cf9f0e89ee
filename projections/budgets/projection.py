"""Projects budgets (their definitions; spending comes from the transactions read model)."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from psycopg import Cursor

from ledger.budget import Budget, BudgetAlert
from ledger.categories import CategoryBook
from projections.base import Projection

COLUMNS = {"name": "name", "categories": "categories", "rollover": "rollover", "thresholds": "thresholds"}


class BudgetsProjection(Projection):
    name = "budgets"
    schema_version = 2
    sql_package = "projections.budgets"
    handles = (
        Budget.Created,
        Budget.Changed,
        Budget.Deleted,
        CategoryBook.Renamed,
        CategoryBook.Merged,
        BudgetAlert.BudgetThresholdCrossed,
    )

    @singledispatchmethod
    def apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    @apply.register
    def _(self, e: Budget.Created, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.budgets VALUES"  # noqa: S608
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, false, %s, %s, %s)",
            (
                e.household_id, e.originator_id, e.owner_id, e.name, list(e.categories), str(e.period),
                e.limit.amount, e.limit.currency, e.rollover, list(e.thresholds), e.private,
                e.originator_version, e.timestamp, e.timestamp,
            ),
        )  # fmt: skip

    @apply.register
    def _(self, e: Budget.Changed, curs: Cursor[Any]) -> None:
        assignments, values = [], []
        for field, value in e.changes.items():
            if field == "limit":
                assignments.append("amount = %s")
                values.append(value.amount)
            elif field == "private":
                assignments.append("private = %s")
                values.append(value)
            else:
                assignments.append(f"{COLUMNS[field]} = %s")
                values.append(list(value) if isinstance(value, list) else value)
        self._update(curs, e, ", ".join(assignments), *values)

    @apply.register
    def _(self, e: BudgetAlert.BudgetThresholdCrossed, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.alerts VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
            (
                e.originator_id, e.budget_id, e.household_id, e.period_start, e.period_end, e.threshold,
                e.spent, e.available, e.currency, e.timestamp,
            ),
        )  # fmt: skip

    @apply.register
    def _(self, e: Budget.Deleted, curs: Cursor[Any]) -> None:
        self._update(curs, e, "deleted = true")

    @apply.register
    def _(self, e: CategoryBook.Renamed, curs: Cursor[Any]) -> None:
        self._repoint(curs, e.household_id, e.old, e.new)

    @apply.register
    def _(self, e: CategoryBook.Merged, curs: Cursor[Any]) -> None:
        self._repoint(curs, e.household_id, e.source, e.into)

    def _repoint(self, curs: Cursor[Any], household_id: Any, old: str, new: str) -> None:
        """A renamed or merged category: budgets over it now cover its new name."""
        curs.execute(
            f"UPDATE {self.schema}.budgets SET categories = ARRAY("  # noqa: S608
            " SELECT DISTINCT CASE WHEN lower(c) = lower(%s) THEN %s ELSE c END FROM unnest(categories) c"
            ") WHERE household_id = %s"
            " AND EXISTS (SELECT 1 FROM unnest(categories) c WHERE lower(c) = lower(%s))",
            (old, new, household_id, old),
        )

    def _update(self, curs: Cursor[Any], e: Any, assignments: str, *values: Any) -> None:
        self.update_row(curs, "budgets", "budget_id", e, assignments, *values)
