"""Projects savings goals (their definitions; progress comes from account balances)."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from psycopg import Cursor

from ledger.goal import Goal
from projections.base import Projection


class GoalsProjection(Projection):
    name = "goals"
    schema_version = 1
    sql_package = "projections.goals"
    handles = (Goal.Created, Goal.Changed, Goal.Deleted)

    @singledispatchmethod
    def apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    @apply.register
    def _(self, e: Goal.Created, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.goals VALUES (%s, %s, %s, %s, %s, %s, %s, %s, false, %s, %s, %s)",  # noqa: S608
            (
                e.household_id, e.originator_id, e.owner_id, e.name, e.target.amount, e.target.currency,
                list(e.account_ids), e.target_date, e.originator_version, e.timestamp, e.timestamp,
            ),
        )  # fmt: skip

    @apply.register
    def _(self, e: Goal.Changed, curs: Cursor[Any]) -> None:
        columns = {
            "name": "name",
            "target": "amount",
            "account_ids": "account_ids",
            "target_date": "target_date",
        }
        assignments, values = [], []
        for field, value in e.changes.items():
            assignments.append(f"{columns[field]} = %s")
            values.append(
                value.amount if field == "target" else list(value) if field == "account_ids" else value
            )
        self._update(curs, e, ", ".join(assignments), *values)

    @apply.register
    def _(self, e: Goal.Deleted, curs: Cursor[Any]) -> None:
        self._update(curs, e, "deleted = true")

    def _update(self, curs: Cursor[Any], e: Any, assignments: str, *values: Any) -> None:
        self.update_row(curs, "goals", "goal_id", e, assignments, *values)
