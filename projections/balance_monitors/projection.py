"""The balance monitors follower: each posting's balance before and after, against the
account's monitors; every crossing goes to the outbox in the same transaction as the
tracking position, and the relay appends it as a ``BalanceAlert`` whose id derives from
(monitor, account version): a replay cannot alert twice for one posting."""

from __future__ import annotations

from decimal import Decimal
from functools import singledispatchmethod
from typing import Any

from psycopg import Cursor

from ledger.account import Account
from ledger.monitor import BalanceMonitor, Direction, balance_alert_id, crossed
from projections.base import Projection


class BalanceMonitorsProjection(Projection):
    name = "balance_monitors"
    schema_version = 1
    sql_package = "projections.balance_monitors"
    handles = (
        Account.Opened,
        Account.PostingApplied,
        Account.PostingReversed,
        BalanceMonitor.Created,
        BalanceMonitor.Changed,
        BalanceMonitor.Deleted,
    )

    @singledispatchmethod
    def apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    @apply.register
    def _(self, e: Account.Opened, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.balances VALUES (%s, %s, %s, 0)",  # noqa: S608
            (e.originator_id, e.household_id, e.currency),
        )

    @apply.register(Account.PostingApplied)
    @apply.register(Account.PostingReversed)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        change = e.amount if isinstance(e, Account.PostingApplied) else -e.amount
        curs.execute(
            f"UPDATE {self.schema}.balances SET balance = balance + %s WHERE account_id = %s"  # noqa: S608
            " RETURNING balance",
            (change, e.originator_id),
        )
        after = Decimal(curs.fetchall()[0][0])
        self._check(curs, e, after - change, after)

    def _check(self, curs: Cursor[Any], e: Any, before: Decimal, after: Decimal) -> None:
        s = self.schema
        curs.execute(
            f"SELECT monitor_id, household_id, owner_id, name, threshold, currency, direction"  # noqa: S608
            f" FROM {s}.monitors WHERE account_id = %s AND NOT deleted",
            (e.originator_id,),
        )
        for monitor_id, household, owner, name, threshold, currency, direction in curs.fetchall():
            if crossed(Direction(direction), Decimal(threshold), before, after):
                curs.execute(
                    f"INSERT INTO {s}.outbox VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                    (
                        balance_alert_id(monitor_id, e.originator_version), household, monitor_id,
                        e.originator_version, owner, e.originator_id, name, direction, threshold, after,
                        currency,
                    ),
                )  # fmt: skip

    @apply.register
    def _(self, e: BalanceMonitor.Created, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.monitors VALUES (%s, %s, %s, %s, %s, %s, %s, %s, false, %s, %s, %s)",  # noqa: S608
            (
                e.originator_id, e.household_id, e.owner_id, e.account_id, e.name, e.threshold.amount,
                e.threshold.currency, str(e.direction), e.originator_version, e.timestamp, e.timestamp,
            ),
        )  # fmt: skip

    @apply.register
    def _(self, e: BalanceMonitor.Changed, curs: Cursor[Any]) -> None:
        assignments, values = [], []
        for field, value in e.changes.items():
            assignments.append(f"{field} = %s")
            values.append(value.amount if field == "threshold" else str(value))
        self.update_row(curs, "monitors", "monitor_id", e, ", ".join(assignments), *values)

    @apply.register
    def _(self, e: BalanceMonitor.Deleted, curs: Cursor[Any]) -> None:
        self.update_row(curs, "monitors", "monitor_id", e, "deleted = true")
