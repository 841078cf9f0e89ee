"""Projects transaction events into the transactions list."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

import msgspec
from psycopg import Cursor
from psycopg.types.json import Jsonb

from ledger.account import Account
from ledger.categories import CategoryBook
from ledger.imports import ImportBatch
from ledger.posting import EntryKind
from ledger.transaction import Transaction
from projections.accounts.projection import sharing_json
from projections.base import Projection

EDITABLE_COLUMNS = ("description", "merchant", "date", "tags", "notes")
RECORDED_COLUMNS = (
    "household_id, transaction_id, version, kind, status, date, description, merchant, category, tags,"
    " notes, amount, currency, account_id, to_account_id, account_ids, recorded_at, updated_at,"
    " categorization_source, confidence"
)
# Recorded transactions per INSERT: in a pipelined batch, PostgreSQL inserts one chunk while
# the runner decodes the next events. One statement for the whole batch left either side
# idle while the other worked (catch-up, interleaved runs: 23,400-25,700 events/s at one
# statement per batch, 25,400-40,500 at 50 rows).
RECORDED_PER_STATEMENT = 50
RULE_COLUMNS = ("category", "tags", "notes", "categorization_source", "confidence")


def own_postings(postings: Any) -> list[tuple[Any, Any]]:
    """The (account id, amount) of each posting to one of the household's own accounts."""
    return [(account, p.amount) for p in postings if (account := p.household_account_id())]


def sides(kind: EntryKind, postings: Any) -> tuple[Any, Any, Any, list[Any]]:
    """The account, the other account of a transfer, the amount and all own accounts."""
    return sides_of(kind, own_postings(postings))


def sides_of(kind: EntryKind, own: list[tuple[Any, Any]]) -> tuple[Any, Any, Any, list[Any]]:
    """``sides`` of postings already reduced by ``own_postings``."""
    if kind is EntryKind.TRANSFER:
        account_id = next(a for a, m in own if m.amount < 0)
        to_account_id = next(a for a, m in own if m.amount > 0)
    else:
        account_id, to_account_id = own[0][0], None
    return account_id, to_account_id, abs(own[0][1].amount), [a for a, _ in own]


def recorded_row(e: Any) -> dict[str, Any]:
    """The transactions table's row of a recorded transaction, by column name."""
    own = own_postings(e.postings)
    account_id, to_account_id, amount, own_ids = sides_of(EntryKind(e.kind), own)
    return {
        "household_id": e.household_id, "transaction_id": e.originator_id, "version": e.originator_version,
        "kind": str(e.kind), "status": str(e.status), "date": e.date, "description": e.description,
        "merchant": e.merchant, "category": e.category, "tags": list(e.tags), "notes": e.notes,
        "amount": amount, "currency": own[0][1].currency, "account_id": account_id,
        "to_account_id": to_account_id, "account_ids": own_ids, "recorded_at": e.timestamp,
        "updated_at": e.timestamp, "categorization_source": "manual" if e.category else None,
        "confidence": 1 if e.category else None,
    }  # fmt: skip


class TransactionsProjection(Projection):
    name = "transactions"
    pipelined = True  # row checks go through execute_one / update_row
    schema_version = 8
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
        Transaction.Categorised,
        Transaction.RuleApplied,
        Transaction.RuleUndone,
        CategoryBook.Renamed,
        CategoryBook.Merged,
        Transaction.Imported,
        Transaction.TransferMatched,
        Transaction.TransferUnmatched,
        Transaction.ImportReverted,
        ImportBatch.Started,
        ImportBatch.Completed,
        ImportBatch.Reverted,
        Transaction.ReceiptAttached,
        Transaction.ReceiptDetached,
        Transaction.Held,
        Transaction.Settled,
        Transaction.SettlementReverted,
        Transaction.Voided,
        Transaction.Expired,
        Transaction.ForeignAmount,
    )

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        # The rows of recorded transactions, inserted RECORDED_PER_STATEMENT at a time, and
        # before the next event of another kind or at the batch's end (flush): one INSERT
        # per event cost more than half of a catch-up's client CPU, most of it psycopg
        # adapting 20 parameters.
        self._recorded: list[dict[str, Any]] = []

    def apply(self, event: Any, curs: Cursor[Any]) -> None:
        if type(event) is Transaction.Recorded:
            self._recorded.append(recorded_row(event))
            if len(self._recorded) >= RECORDED_PER_STATEMENT:
                self.flush(curs)
            return
        self.flush(curs)  # whatever follows may change a buffered row
        self._apply(event, curs)

    def flush(self, curs: Cursor[Any]) -> None:
        """Insert the buffered rows: one JSON document that PostgreSQL turns into rows of the
        table's own type (json_populate_recordset)."""
        if self._recorded:
            rows, self._recorded = self._recorded, []
            table = f"{self.schema}.transactions"
            curs.execute(
                f"INSERT INTO {table} ({RECORDED_COLUMNS}) SELECT {RECORDED_COLUMNS}"  # noqa: S608 - schema is ours
                f" FROM json_populate_recordset(NULL::{table}, %s::json)",
                (msgspec.json.encode(rows).decode(),),
            )

    def discard(self) -> None:
        super().discard()
        self._recorded = []

    @singledispatchmethod
    def _apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    @_apply.register
    def _(self, e: Account.Opened, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.account_access (account_id, household_id) VALUES (%s, %s)",  # noqa: S608
            (e.originator_id, e.household_id),
        )

    @_apply.register
    def _(self, e: Account.OwnerAssigned, curs: Cursor[Any]) -> None:
        self._access(curs, e, "owner_id = %s", e.owner_id)

    @_apply.register
    def _(self, e: Account.SharingChanged, curs: Cursor[Any]) -> None:
        self._access(
            curs, e, "default_access = %s, member_access = %s", str(e.default_access), sharing_json(e)
        )

    @_apply.register
    def _(self, e: Transaction.Imported, curs: Cursor[Any]) -> None:
        self._update(curs, e, "import_batch_id = %s, external_id = %s", e.batch_id, e.external_id)

    @_apply.register
    def _(self, e: Transaction.Held, curs: Cursor[Any]) -> None:
        self._update(curs, e, "expires_at = %s", e.expires_at)

    @_apply.register
    def _(self, e: Transaction.Settled, curs: Cursor[Any]) -> None:
        _, _, amount, _ = sides(self._kind(curs, e), e.postings)
        self._update(curs, e, "status = 'posted', amount = %s, date = %s, expires_at = NULL", amount, e.on)

    @_apply.register
    def _(self, e: Transaction.SettlementReverted, curs: Cursor[Any]) -> None:
        _, _, amount, _ = sides(self._kind(curs, e), e.postings)
        self._update(curs, e, "status = 'pending', amount = %s, date = %s", amount, e.on)

    @_apply.register(Transaction.Voided)
    @_apply.register(Transaction.Expired)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        self._update(curs, e, "status = %s", "cancelled")

    @_apply.register
    def _(self, e: Transaction.ForeignAmount, curs: Cursor[Any]) -> None:
        self._update(
            curs, e, "original_amount = %s, original_currency = %s, rate = %s",
            e.original.amount, e.original.currency, e.rate,
        )  # fmt: skip

    def _kind(self, curs: Cursor[Any], e: Any) -> EntryKind:
        curs.execute(
            f"SELECT kind FROM {self.schema}.transactions WHERE transaction_id = %s",  # noqa: S608
            (e.originator_id,),
        )
        row = curs.fetchone()
        if row is None:
            raise LookupError(f"transaction {e.originator_id} is not in the read model")
        return EntryKind(row[0])

    @_apply.register
    def _(self, e: Transaction.ReceiptAttached, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.receipts VALUES (%s, %s, %s, %s, %s, %s)",  # noqa: S608
            (e.originator_id, e.sha256, e.name, e.content_type, e.size, e.timestamp),
        )
        self._update(curs, e, "receipts = receipts + 1")

    @_apply.register
    def _(self, e: Transaction.ReceiptDetached, curs: Cursor[Any]) -> None:
        curs.execute(
            f"DELETE FROM {self.schema}.receipts WHERE transaction_id = %s AND sha256 = %s",  # noqa: S608
            (e.originator_id, e.sha256),
        )
        self._update(curs, e, "receipts = receipts - 1")

    @_apply.register
    def _(self, e: ImportBatch.Started, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.imports VALUES (%s, %s, %s, %s, NULL, false, %s, %s)",  # noqa: S608
            (e.originator_id, e.household_id, e.account_id, Jsonb(e.source), e.timestamp, e.timestamp),
        )

    @_apply.register
    def _(self, e: ImportBatch.Completed, curs: Cursor[Any]) -> None:
        self._import(curs, e, "report = %s", Jsonb(e.report))

    @_apply.register
    def _(self, e: ImportBatch.Reverted, curs: Cursor[Any]) -> None:
        self._import(curs, e, "reverted = %s", True)

    def _import(self, curs: Cursor[Any], e: Any, assignment: str, value: Any) -> None:
        curs.execute(
            f"UPDATE {self.schema}.imports SET {assignment}, updated_at = %s WHERE batch_id = %s",  # noqa: S608
            (value, e.timestamp, e.originator_id),
        )

    @_apply.register
    def _(self, e: Transaction.ImportReverted, curs: Cursor[Any]) -> None:
        self._update(curs, e, "status = %s", "cancelled")

    @_apply.register
    def _(self, e: Transaction.TransferMatched, curs: Cursor[Any]) -> None:
        account_id, to_account_id, _, own = sides(EntryKind.TRANSFER, e.postings)
        self._update(
            curs, e,
            "kind = 'transfer', account_id = %s, to_account_id = %s, account_ids = %s, category = NULL,"
            " categorization_source = NULL, confidence = NULL, rule_id = NULL",
            account_id, to_account_id, own,
        )  # fmt: skip

    @_apply.register
    def _(self, e: Transaction.TransferUnmatched, curs: Cursor[Any]) -> None:
        account_id, to_account_id, _, own = sides(EntryKind(e.kind), e.postings)
        self._update(
            curs, e,
            "kind = %s, account_id = %s, to_account_id = %s, account_ids = %s, category = %s",
            e.kind, account_id, to_account_id, own, e.category,
        )  # fmt: skip

    @_apply.register
    def _(self, e: Transaction.Edited, curs: Cursor[Any]) -> None:
        columns = [c for c in EDITABLE_COLUMNS if c in e.changes]
        assignments = ", ".join(f"{c} = %s" for c in columns)
        self._update(curs, e, assignments, *(e.changes[c] for c in columns))

    @_apply.register
    def _(self, e: Transaction.Recategorised, curs: Cursor[Any]) -> None:
        self._update(
            curs, e, "category = %s, categorization_source = 'manual', confidence = 1, rule_id = NULL",
            e.category,
        )  # fmt: skip

    @_apply.register
    def _(self, e: Transaction.Categorised, curs: Cursor[Any]) -> None:
        self._update(
            curs, e, "category = %s, categorization_source = %s, confidence = %s, rule_id = NULL",
            e.category, e.source, e.confidence,
        )  # fmt: skip

    @_apply.register
    def _(self, e: Transaction.RuleApplied, curs: Cursor[Any]) -> None:
        after = {name: change[1] for name, change in e.changes.items()}
        self._set_fields(curs, e, after, e.rule_id if "category" in after else None)

    @_apply.register
    def _(self, e: Transaction.RuleUndone, curs: Cursor[Any]) -> None:
        self._set_fields(curs, e, e.restored, None)

    def _set_fields(self, curs: Cursor[Any], e: Any, values: dict[str, Any], rule_id: Any) -> None:
        columns = [c for c in RULE_COLUMNS if c in values]
        assignments = [f"{c} = %s" for c in columns]
        params = [values[c] for c in columns]
        if "category" in values:
            assignments.append("rule_id = %s")
            params.append(rule_id)
        self._update(curs, e, ", ".join(assignments), *params)

    @_apply.register
    def _(self, e: CategoryBook.Renamed, curs: Cursor[Any]) -> None:
        self._repoint(curs, e.household_id, e.old, e.new)

    @_apply.register
    def _(self, e: CategoryBook.Merged, curs: Cursor[Any]) -> None:
        self._repoint(curs, e.household_id, e.source, e.into)

    def _repoint(self, curs: Cursor[Any], household_id: Any, old: str, new: str) -> None:
        """A renamed or merged category: the history follows, the events stay as they were."""
        curs.execute(
            f"UPDATE {self.schema}.transactions SET category = %s"  # noqa: S608
            " WHERE household_id = %s AND lower(category) = lower(%s)",
            (new, household_id, old),
        )

    @_apply.register
    def _(self, e: Transaction.Posted, curs: Cursor[Any]) -> None:
        self._update(curs, e, "status = %s", "posted")

    @_apply.register
    def _(self, e: Transaction.Disputed, curs: Cursor[Any]) -> None:
        self._update(curs, e, "status = %s", "disputed")

    @_apply.register
    def _(self, e: Transaction.Cancelled, curs: Cursor[Any]) -> None:
        self._update(curs, e, "status = %s", "cancelled")

    @_apply.register
    def _(self, e: Transaction.Reconciled, curs: Cursor[Any]) -> None:
        self._update(curs, e, "reconciled = %s", True)

    def _access(self, curs: Cursor[Any], e: Any, assignments: str, *values: Any) -> None:
        curs.execute(
            f"UPDATE {self.schema}.account_access SET {assignments} WHERE account_id = %s",  # noqa: S608
            (*values, e.originator_id),
        )

    def _update(self, curs: Cursor[Any], e: Any, assignments: str, *values: Any) -> None:
        self.update_row(curs, "transactions", "transaction_id", e, assignments, *values)
