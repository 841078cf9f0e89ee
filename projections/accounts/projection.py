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

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        # Buffered until the next event of another kind or the batch's end (flush): the
        # postings of recorded transactions, and each account's balance change, version and
        # time. Neither reads what the other writes, so only other events need them written.
        self._postings: list[tuple[Any, ...]] = []
        self._balances: dict[Any, list[Any]] = {}

    def apply(self, event: Any, curs: Cursor[Any]) -> None:
        if isinstance(event, (Account.PostingApplied, Account.PostingReversed)):
            change = event.amount if isinstance(event, Account.PostingApplied) else -event.amount
            pending = self._balances.setdefault(event.originator_id, [0, 0, None])
            pending[0] += change
            pending[1:] = [event.originator_version, event.timestamp]
            return
        if isinstance(event, Transaction.Recorded):
            self._postings += posting_rows(event.household_id, event.originator_id, event.postings,
                                           event.date, str(event.status))  # fmt: skip
            return
        self.flush(curs)
        self._apply(event, curs)

    def flush(self, curs: Cursor[Any]) -> None:
        """Write the buffered postings and balance changes, one statement each."""
        if self._postings:
            rows, self._postings = self._postings, []
            columns = list(zip(*rows, strict=True))
            # Binary arrays: psycopg's text form quotes each element (a regex per element).
            curs.execute(
                f"INSERT INTO {self.schema}.postings SELECT * FROM unnest(%b::uuid[], %b::uuid[],"  # noqa: S608
                " %b::int[], %b::text[], %b::numeric[], %b::text[], %b::date[], %b::text[])",
                [list(c) for c in columns],
            )
        if self._balances:
            changes, self._balances = self._balances, {}
            ids = list(changes)
            self.execute_count(
                curs,
                f"UPDATE {self.schema}.accounts a SET balance = a.balance + c.change, version = c.version,"  # noqa: S608
                " updated_at = c.at FROM unnest(%b::uuid[], %b::numeric[], %b::int[], %b::timestamptz[])"
                " AS c(account_id, change, version, at) WHERE a.account_id = c.account_id",
                [ids, *([changes[i][n] for i in ids] for n in range(3))],
                len(ids),
                f"one of the accounts {sorted(map(str, ids))} is not in the read model",
            )

    def discard(self) -> None:
        super().discard()
        self._postings, self._balances = [], {}

    @singledispatchmethod
    def _apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    @_apply.register
    def _(self, e: Account.Opened, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.accounts VALUES"  # noqa: S608 - schema is ours, values bound
            " (%s, %s, %s, %s, %s, %s, 'open', 0, %s, %s, %s)",
            (
                e.household_id, e.originator_id, e.name, str(e.kind), e.currency,
                e.minimum_balance, e.originator_version, e.timestamp, e.timestamp,
            ),
        )  # fmt: skip

    @_apply.register
    def _(self, e: Account.Renamed, curs: Cursor[Any]) -> None:
        self._update_account(curs, e, "name = %s", e.name)

    @_apply.register
    def _(self, e: Account.Closed, curs: Cursor[Any]) -> None:
        self._update_account(curs, e, "status = %s", "closed")

    @_apply.register
    def _(self, e: Account.OwnerAssigned, curs: Cursor[Any]) -> None:
        self._update_account(curs, e, "owner_id = %s", e.owner_id)

    @_apply.register
    def _(self, e: Account.SharingChanged, curs: Cursor[Any]) -> None:
        self._update_account(
            curs, e, "default_access = %s, member_access = %s", str(e.default_access), sharing_json(e)
        )

    @_apply.register
    def _(self, e: Account.Reconciled, curs: Cursor[Any]) -> None:
        self._update_account(curs, e, "reconciled_until = %s", e.closing_date)

    @_apply.register
    def _(self, e: Transaction.Edited, curs: Cursor[Any]) -> None:
        if "date" in e.changes:
            self._update_postings(curs, e.originator_id, "date = %s", e.changes["date"])

    @_apply.register(Transaction.ImportReverted)
    @_apply.register(Transaction.Voided)
    @_apply.register(Transaction.Expired)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        self._update_postings(curs, e.originator_id, "status = %s", "cancelled")

    @_apply.register(Transaction.Settled)
    @_apply.register(Transaction.SettlementReverted)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        curs.execute(
            f"DELETE FROM {self.schema}.postings WHERE transaction_id = %s RETURNING household_id",  # noqa: S608
            (e.originator_id,),
        )
        household_id = curs.fetchall()[0][0]
        status = "posted" if isinstance(e, Transaction.Settled) else "pending"
        self._insert_postings(curs, household_id, e.originator_id, e.postings, e.on, status)

    @_apply.register(Transaction.Categorised)
    @_apply.register(Transaction.RuleApplied)
    @_apply.register(Transaction.RuleUndone)
    @_apply.register(Transaction.TransferMatched)
    @_apply.register(Transaction.TransferUnmatched)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        self._replace_postings(curs, e)

    @_apply.register
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

    @_apply.register
    def _(self, e: Transaction.Posted, curs: Cursor[Any]) -> None:
        self._update_postings(curs, e.originator_id, "status = %s", "posted")

    @_apply.register
    def _(self, e: Transaction.Disputed, curs: Cursor[Any]) -> None:
        self._update_postings(curs, e.originator_id, "status = %s", "disputed")

    @_apply.register
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
            posting_rows(household_id, transaction_id, postings, on, status),
        )


def posting_rows(
    household_id: Any, transaction_id: Any, postings: Any, on: Any, status: str
) -> list[tuple[Any, ...]]:
    """The postings table's rows of a transaction's postings."""
    return [
        (household_id, transaction_id, line, p.account, p.amount.amount, p.amount.currency, on, status)
        for line, p in enumerate(postings)
    ]
