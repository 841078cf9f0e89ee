"""Projects schedules (recurring transactions and bills) and their occurrences."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from psycopg import Cursor

from ledger.schedule import Schedule
from projections.base import Projection

COLUMNS = {
    "name": "name",
    "description": "description",
    "merchant": "merchant",
    "category": "category",
    "end": '"end"',
    "grace_days": "grace_days",
    "tolerance": "tolerance",
}


class SchedulesProjection(Projection):
    name = "schedules"
    schema_version = 1
    sql_package = "projections.schedules"
    handles = (
        Schedule.Created,
        Schedule.Changed,
        Schedule.Generated,
        Schedule.BillPaid,
        Schedule.BillMissed,
        Schedule.Deleted,
    )

    @singledispatchmethod
    def apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    @apply.register
    def _(self, e: Schedule.Created, curs: Cursor[Any]) -> None:
        t = e.terms
        curs.execute(
            f"INSERT INTO {self.schema}.schedules VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"  # noqa: S608
            " %s, %s, %s, %s, %s, %s, %s, %s, %s, false, %s, %s, %s)",
            (
                e.household_id, e.originator_id, e.owner_id, t["name"], str(t["mode"]), t["account_id"],
                str(t["kind"]), t["amount"].amount, t["amount"].currency, t["description"], t["merchant"],
                t["category"], str(t["frequency"]), t["every"], t["day"], t["start"], t["end"],
                t["grace_days"], t["tolerance"], e.next_due, e.originator_version, e.timestamp, e.timestamp,
            ),
        )  # fmt: skip

    @apply.register
    def _(self, e: Schedule.Changed, curs: Cursor[Any]) -> None:
        assignments, values = ["next_due = %s"], [e.next_due]
        for field, value in e.changes.items():
            if field == "amount":
                assignments.append("amount = %s")
                values.append(value.amount)
            else:
                assignments.append(f"{COLUMNS[field]} = %s")
                values.append(value)
        self.update_row(curs, "schedules", "schedule_id", e, ", ".join(assignments), *values)

    @apply.register(Schedule.Generated)
    @apply.register(Schedule.BillPaid)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        outcome = "generated" if isinstance(e, Schedule.Generated) else "paid"
        self._occurred(curs, e, outcome, e.transaction_id)

    @apply.register
    def _(self, e: Schedule.BillMissed, curs: Cursor[Any]) -> None:
        self._occurred(curs, e, "missed", None)

    @apply.register
    def _(self, e: Schedule.Deleted, curs: Cursor[Any]) -> None:
        self.update_row(curs, "schedules", "schedule_id", e, "deleted = true")

    def _occurred(self, curs: Cursor[Any], e: Any, outcome: str, transaction_id: Any) -> None:
        self.update_row(curs, "schedules", "schedule_id", e, "next_due = %s", e.next_due)
        curs.execute(
            f"INSERT INTO {self.schema}.occurrences SELECT household_id, schedule_id, %s, %s, %s, %s"  # noqa: S608
            f" FROM {self.schema}.schedules WHERE schedule_id = %s",
            (e.on, outcome, transaction_id, e.timestamp, e.originator_id),
        )
