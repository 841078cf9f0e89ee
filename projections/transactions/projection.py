"""Projects transaction events into the transactions list."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from psycopg import Cursor

from ledger.account import Account
from ledger.posting import EntryKind
from ledger.transaction import Transaction
from projections.accounts.projection import sharing_json
from projections.base import Projection

EDITABLE_COLUMNS = ("description", "merchant", "date", "tags", "notes")


class TransactionsProjection(Projection):
    name = "transactions"
    schema_version = 3
    sql_package = "projections.transactions"
    handles = (
        Account.Opened,
        Account.OwnerAssigned,
        Account.SharingChanged,
        Transaction.Recorded,
        Transaction.Edited,
        Transaction.Recategorised,
        Transaction.Posted,
        Transaction.Disputed,
        Transaction.Cancelled,
        Transaction.Reconciled,
    )

    @singledispatchmethod
    def apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    @apply.register
    def _(self, e: Account.Opened, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.account_access (account_id, household_id) VALUES (%s, %s)",  # noqa: S608
            (e.originator_id, e.household_id),
        )

    @apply.register
    def _(self, e: Account.OwnerAssigned, curs: Cursor[Any]) -> None:
        self._access(curs, e, "owner_id = %s", e.owner_id)

    @apply.register
    def _(self, e: Account.SharingChanged, curs: Cursor[Any]) -> None:
        self._access(
            curs, e, "default_access = %s, member_access = %s", str(e.default_access), sharing_json(e)
        )

    @apply.register
    def _(self, e: Transaction.Recorded, curs: Cursor[Any]) -> None:
        own = [(p.household_account_id(), p.amount) for p in e.postings if p.household_account_id()]
        if EntryKind(e.kind) is EntryKind.TRANSFER:
            account_id = next(a for a, m in own if m.amount < 0)
            to_account_id = next(a for a, m in own if m.amount > 0)
        else:
            account_id, to_account_id = own[0][0], None
        amount = abs(own[0][1].amount)
        curs.execute(
            f"INSERT INTO {self.schema}.transactions VALUES"  # noqa: S608 - schema is ours
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                e.household_id, e.originator_id, e.originator_version, str(e.kind), str(e.status),
                e.date, e.description, e.merchant, e.category, list(e.tags), e.notes,
                amount, own[0][1].currency, account_id, to_account_id, [a for a, _ in own],
                e.timestamp, e.timestamp,
            ),
        )  # fmt: skip

    @apply.register
    def _(self, e: Transaction.Edited, curs: Cursor[Any]) -> None:
        columns = [c for c in EDITABLE_COLUMNS if c in e.changes]
        assignments = ", ".join(f"{c} = %s" for c in columns)
        self._update(curs, e, assignments, *(e.changes[c] for c in columns))

    @apply.register
    def _(self, e: Transaction.Recategorised, curs: Cursor[Any]) -> None:
        self._update(curs, e, "category = %s", e.category)

    @apply.register
    def _(self, e: Transaction.Posted, curs: Cursor[Any]) -> None:
        self._update(curs, e, "status = %s", "posted")

    @apply.register
    def _(self, e: Transaction.Disputed, curs: Cursor[Any]) -> None:
        self._update(curs, e, "status = %s", "disputed")

    @apply.register
    def _(self, e: Transaction.Cancelled, curs: Cursor[Any]) -> None:
        self._update(curs, e, "status = %s", "cancelled")

    @apply.register
    def _(self, e: Transaction.Reconciled, curs: Cursor[Any]) -> None:
        self._update(curs, e, "reconciled = %s", True)

    def _access(self, curs: Cursor[Any], e: Any, assignments: str, *values: Any) -> None:
        curs.execute(
            f"UPDATE {self.schema}.account_access SET {assignments} WHERE account_id = %s",  # noqa: S608
            (*values, e.originator_id),
        )

    def _update(self, curs: Cursor[Any], e: Any, assignments: str, *values: Any) -> None:
        curs.execute(
            f"UPDATE {self.schema}.transactions SET {assignments}, version = %s, updated_at = %s"  # noqa: S608
            " WHERE transaction_id = %s",
            (*values, e.originator_version, e.timestamp, e.originator_id),
        )
        if curs.rowcount != 1:
            raise LookupError(f"transaction {e.originator_id} is not in the read model")
