"""The relay of budget alerts: outbox rows of the alerts follower become events.

Each outbox row is appended as a ``BudgetThresholdCrossed`` event of a ``BudgetAlert``
whose id derives from (budget, period, threshold), then deleted. A crash between the two
leaves the row; the next append of it is refused by the event store (the id exists), and
the row is deleted then: each alert is stored exactly once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from commands.application import Ledger
from commands.write_path import append
from ledger.budget import BudgetAlert
from ledger.errors import ConcurrencyConflictError

log = logging.getLogger("fiscaflow.alerts")
OUTBOX = "read_budget_alerts.outbox"


def relay_alerts(app: Ledger, limit: int = 500) -> int:
    """Append the pending alerts; returns how many were new."""
    recorder: Any = app.recorder
    with recorder.datastore.get_connection() as conn:
        try:
            rows = conn.execute(f"SELECT * FROM {OUTBOX} ORDER BY period_start LIMIT %s", (limit,)).fetchall()  # noqa: S608
        except Exception as error:  # the follower's schema is not there yet
            if "does not exist" in str(error):
                conn.rollback()
                return 0
            raise
    new = 0
    for row in rows:
        alert = BudgetAlert.crossed(
            row["household_id"],
            row["budget_id"],
            (row["period_start"], row["period_end"]),
            row["threshold"],
            row["spent"],
            row["available"],
            row["currency"],
        )
        try:
            append(app, alert)
            new += 1
        except ConcurrencyConflictError:
            pass  # stored before a crash: exactly once all the same
        with recorder.datastore.get_connection() as conn, conn.transaction():
            conn.execute(f"DELETE FROM {OUTBOX} WHERE alert_id = %s", (row["alert_id"],))  # noqa: S608
    return new


class AlertRelay(threading.Thread):
    def __init__(self, app: Ledger, interval: float = 1.0) -> None:
        super().__init__(name="alert-relay", daemon=True)
        self.app, self.interval = app, interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                relay_alerts(self.app)
            except Exception:
                log.exception("alert relay failed; retrying")

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
