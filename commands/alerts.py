"""The relay of alerts: outbox rows of the alert followers become events.

The budget alerts follower and the balance monitors follower write what they detect to an
outbox in the same transaction as their tracking position. Each outbox row is appended as
an event of an alert aggregate whose id derives from what it is about (budget, period and
threshold; monitor and account posting), then deleted. A crash between the two leaves the
row; the next append of it is refused by the event store (the id exists), and the row is
deleted then: each alert is stored exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.domain import Aggregate

from commands.application import Ledger
from commands.write_path import append
from ledger.budget import BudgetAlert
from ledger.errors import ConcurrencyConflictError
from ledger.monitor import BalanceAlert


def budget_alert(row: dict[str, Any]) -> Aggregate:
    return BudgetAlert.crossed(
        row["household_id"],
        row["budget_id"],
        (row["period_start"], row["period_end"]),
        row["threshold"],
        row["spent"],
        row["available"],
        row["currency"],
    )


def balance_alert(row: dict[str, Any]) -> Aggregate:
    facts = {
        k: row[k]
        for k in (
            "household_id",
            "owner_id",
            "account_id",
            "name",
            "direction",
            "threshold",
            "balance",
            "currency",
        )
    }
    return BalanceAlert.crossed(row["monitor_id"], row["account_version"], facts)


# outbox table -> (its order, the alert of a row)
OUTBOXES: dict[str, tuple[str, Callable[[dict[str, Any]], Aggregate]]] = {
    "read_budget_alerts.outbox": ("period_start, alert_id", budget_alert),
    "read_balance_monitors.outbox": ("account_id, account_version, alert_id", balance_alert),
}


def relay_alerts(app: Ledger, limit: int = 500) -> int:
    """Append the pending alerts of every outbox; returns how many were new."""
    return sum(relay_outbox(app, table, limit) for table in OUTBOXES)


def relay_outbox(app: Ledger, table: str, limit: int) -> int:
    order, build = OUTBOXES[table]
    recorder: Any = app.recorder
    with recorder.datastore.get_connection() as conn:
        try:
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY {order} LIMIT %s", (limit,)).fetchall()  # noqa: S608
        except Exception as error:  # the follower's schema is not there yet
            if "does not exist" in str(error):
                conn.rollback()
                return 0
            raise
    new = 0
    for row in rows:
        try:
            append(app, build(row))
            new += 1
        except ConcurrencyConflictError:
            pass  # stored before a crash: exactly once all the same
        with recorder.datastore.get_connection() as conn, conn.transaction():
            conn.execute(f"DELETE FROM {table} WHERE alert_id = %s", (row["alert_id"],))  # noqa: S608
    return new
