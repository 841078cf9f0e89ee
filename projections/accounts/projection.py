"""Projects account and transaction events into accounts, balances and dated postings."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from ledger.account import Account
from ledger.transaction import Transaction
from projections.base import Projection


def sharing_json(e: Account.SharingChanged) -> Jsonb:
    return Jsonb({member: str(level) for member, level in e.member_access.items()})


class AccountsProjection(Projection):
    name = "accounts"
    pipelined = True  # row checks go through execute_one / update_row
    schema_version = 3
    sql_package = "projections.accounts"
    handles = (
        Account.Opened,
        Account.Renamed,
        Account.Closed,
        Account.PostingApplied,
        Account.PostingReversed,
        Account.OwnerAssigned,
        Account.SharingChanged,
        Account.Reconciled,
        Transaction.Recorded,
        Transaction.Edited,
        Transaction.Recategorised,
        Transaction.Posted,
        Transaction.Disputed,
        Transaction.Cancelled,
        Transaction.Categorised,
        Transaction.RuleApplied,
        Transaction.RuleUndone,
        Transaction.TransferMatched,
        Transaction.TransferUnmatched,
        Transaction.ImportReverted,
        Transaction.Settled,
        Transaction.SettlementReverted,
        Transaction.Voided,
        Transaction.Expired,
    )

    @singledispatchmethod
    def apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    @apply.register
    def _(self, e: Account.Opened, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.accounts VALUES"  # noqa: S608 - schema is ours, values bound
            " (%s, %s, %s, %s, %s, %s, 'open', 0, %s, %s, %s)",
            (
                e.household_id, e.originator_id, e.name, str(e.kind), e.currency,
                e.minimum_balance, e.originator_version, e.timestamp, e.timestamp,
            ),
        )  # fmt: skip

    @apply.register
    def _(self, e: Account.Renamed, curs: Cursor[Any]) -> None:
        self._update_account(curs, e, "name = %s", e.name)

    @apply.register
    def _(self, e: Account.Closed, curs: Cursor[Any]) -> None:
        self._update_account(curs, e, "status = %s", "closed")

    @apply.register
    def _(self, e: Account.PostingApplied, curs: Cursor[Any]) -> None:
        self._update_account(curs, e, "balance = balance + %s", e.amount)

    @apply.register
    def _(self, e: Account.PostingReversed, curs: Cursor[Any]) -> None:
        self._update_account(curs, e, "balance = balance - %s", e.amount)

    @apply.register
    def _(self, e: Account.OwnerAssigned, curs: Cursor[Any]) -> None:
        self._update_account(curs, e, "owner_id = %s", e.owner_id)

    @apply.register
    def _(self, e: Account.SharingChanged, curs: Cursor[Any]) -> None:
        self._update_account(
            curs, e, "default_access = %s, member_access = %s", str(e.default_access), sharing_json(e)
        )

    @apply.register
    def _(self, e: Account.Reconciled, curs: Cursor[Any]) -> None:
        self._update_account(curs, e, "reconciled_until = %s", e.closing_date)

    @apply.register
    def _(self, e: Transaction.Recorded, curs: Cursor[Any]) -> None:
        self._insert_postings(curs, e.household_id, e.originator_id, e.postings, e.date, str(e.status))

    @apply.register
    def _(self, e: Transaction.Edited, curs: Cursor[Any]) -> None:
        if "date" in e.changes:
            self._update_postings(curs, e.originator_id, "date = %s", e.changes["date"])

    @apply.register(Transaction.ImportReverted)
    @apply.register(Transaction.Voided)
    @apply.register(Transaction.Expired)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        self._update_postings(curs, e.originator_id, "status = %s", "cancelled")

    @apply.register(Transaction.Settled)
    @apply.register(Transaction.SettlementReverted)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        curs.execute(
            f"DELETE FROM {self.schema}.postings WHERE transaction_id = %s RETURNING household_id",  # noqa: S608
            (e.originator_id,),
        )
        household_id = curs.fetchall()[0][0]
        status = "posted" if isinstance(e, Transaction.Settled) else "pending"
        self._insert_postings(curs, household_id, e.originator_id, e.postings, e.on, status)

    @apply.register(Transaction.Categorised)
    @apply.register(Transaction.RuleApplied)
    @apply.register(Transaction.RuleUndone)
    @apply.register(Transaction.TransferMatched)
    @apply.register(Transaction.TransferUnmatched)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        self._replace_postings(curs, e)

    @apply.register
    def _(self, e: Transaction.Recategorised, curs: Cursor[Any]) -> None:
        self._replace_postings(curs, e)

    def _replace_postings(self, curs: Cursor[Any], e: Any) -> None:
        curs.execute(
            f"DELETE FROM {self.schema}.postings WHERE transaction_id = %s"  # noqa: S608
            " RETURNING household_id, date, status",
            (e.originator_id,),
        )
        household_id, on, status = curs.fetchall()[0]
        self._insert_postings(curs, household_id, e.originator_id, e.postings, on, status)

    @apply.register
    def _(self, e: Transaction.Posted, curs: Cursor[Any]) -> None:
        self._update_postings(curs, e.originator_id, "status = %s", "posted")

    @apply.register
    def _(self, e: Transaction.Disputed, curs: Cursor[Any]) -> None:
        self._update_postings(curs, e.originator_id, "status = %s", "disputed")

    @apply.register
    def _(self, e: Transaction.Cancelled, curs: Cursor[Any]) -> None:
        self._update_postings(curs, e.originator_id, "status = %s", "cancelled")

    def _update_account(self, curs: Cursor[Any], e: Any, assignment: str, *values: Any) -> None:
        self.execute_one(
            curs,
            f"UPDATE {self.schema}.accounts SET {assignment}, version = %s, updated_at = %s"  # noqa: S608
            " WHERE account_id = %s",
            (*values, e.originator_version, e.timestamp, e.originator_id),
            f"account {e.originator_id} is not in the read model",
        )

    def _update_postings(self, curs: Cursor[Any], transaction_id: Any, assignment: str, value: Any) -> None:
        curs.execute(
            f"UPDATE {self.schema}.postings SET {assignment} WHERE transaction_id = %s",  # noqa: S608
            (value, transaction_id),
        )

    def _insert_postings(
        self, curs: Cursor[Any], household_id: Any, transaction_id: Any, postings: Any, on: Any, status: str
    ) -> None:
        curs.executemany(
            f"INSERT INTO {self.schema}.postings VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
            [
                (
                    household_id,
                    transaction_id,
                    line,
                    p.account,
                    p.amount.amount,
                    p.amount.currency,
                    on,
                    status,
                )
                for line, p in enumerate(postings)
            ],
        )
