"""Projects each household's split book: shared expenses, shares, incomes and settle-ups."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from psycopg import Cursor

from ledger.settlement import SplitBook
from projections.base import Projection


class SettlementProjection(Projection):
    name = "settlement"
    schema_version = 1
    sql_package = "projections.settlement"
    handles = (
        SplitBook.Opened,
        SplitBook.ExpenseShared,
        SplitBook.ShareRemoved,
        SplitBook.IncomesSet,
        SplitBook.SettledUp,
    )

    @singledispatchmethod
    def apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    @apply.register
    def _(self, e: SplitBook.Opened, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.books VALUES (%s, %s)",  # noqa: S608
            (e.household_id, e.originator_id),
        )

    @apply.register
    def _(self, e: SplitBook.ExpenseShared, curs: Cursor[Any]) -> None:
        household = self._household(curs, e)
        curs.execute(
            f"INSERT INTO {self.schema}.shares VALUES (%s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
            (
                household,
                e.transaction_id,
                e.paid_by,
                e.amount.amount,
                e.amount.currency,
                e.method,
                e.timestamp,
            ),
        )
        curs.executemany(
            f"INSERT INTO {self.schema}.share_parts VALUES (%s, %s, %s, %s, %s)",  # noqa: S608
            [(household, e.transaction_id, m, s.amount, s.currency) for m, s in e.shares.items()],
        )

    @apply.register
    def _(self, e: SplitBook.ShareRemoved, curs: Cursor[Any]) -> None:
        household = self._household(curs, e)
        for table in ("share_parts", "shares"):
            curs.execute(
                f"DELETE FROM {self.schema}.{table} WHERE household_id = %s AND transaction_id = %s",  # noqa: S608
                (household, e.transaction_id),
            )

    @apply.register
    def _(self, e: SplitBook.IncomesSet, curs: Cursor[Any]) -> None:
        household = self._household(curs, e)
        curs.execute(f"DELETE FROM {self.schema}.incomes WHERE household_id = %s", (household,))  # noqa: S608
        curs.executemany(
            f"INSERT INTO {self.schema}.incomes VALUES (%s, %s, %s, %s)",  # noqa: S608
            [(household, m, income.amount, income.currency) for m, income in e.incomes.items()],
        )

    @apply.register
    def _(self, e: SplitBook.SettledUp, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.settle_ups VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
            (
                self._household(curs, e), e.settlement_id, e.from_member, e.to_member,
                e.amount.amount, e.amount.currency, e.transaction_id, e.timestamp,
            ),
        )  # fmt: skip

    def _household(self, curs: Cursor[Any], e: Any) -> Any:
        curs.execute(
            f"SELECT household_id FROM {self.schema}.books WHERE book_id = %s",  # noqa: S608
            (e.originator_id,),
        )
        row = curs.fetchone()
        if row is None:
            raise LookupError(f"split book {e.originator_id} is not in the read model")
        return row[0]
