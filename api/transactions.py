"""Transaction endpoints: commands (POST/PUT/DELETE) and queries (GET), in separate controllers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Response, delete, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.accounts import DEPENDENCIES, WRITE, IfMatch
from api.consistency import TokenHeader, TokenQuery, read_after
from api.responses import (
    COMMON_PROBLEMS,
    CONSISTENCY_HEADER,
    Accepted,
    BulkAccepted,
    accepted,
    command,
    expected_version,
    query,
)
from api.tenancy import Caller
from commands.messages import (
    Categorize,
    EditTransaction,
    PostTransaction,
    Reason,
    Recategorise,
    RecordTransaction,
    RecordTransactions,
)
from ledger.categoriser import Example
from ledger.errors import InvalidInputError
from queries import audit as audit_q
from queries import transactions as q
from queries.db import TRANSACTIONS_SCHEMA
from queries.views import TransactionPage, TransactionView

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (PostgreSQL refuses NUL)
AmountQuery = Annotated[str | None, QueryParameter(required=False, pattern=r"^[0-9]{1,15}(\.[0-9]{1,4})?$")]
CategoryQuery = Annotated[str | None, QueryParameter(required=False, max_length=100, pattern=PRINTABLE)]
TextQuery = Annotated[
    str | None,
    QueryParameter(
        name="q", required=False, max_length=200, pattern=PRINTABLE, description="Full-text search."
    ),
]
CursorQuery = Annotated[
    str | None, QueryParameter(required=False, max_length=200, pattern=r"^[A-Za-z0-9_=-]*$")
]


class TransactionCommandHandlers:
    """Command endpoints (they append events)."""

    path = "/api/v1/transactions"

    @command(post, "/", "recordTransaction", 201, guards=WRITE)
    def record(
        self,
        data: JSONBody[RecordTransaction],
        c: NamedDependency[Caller],
    ) -> Response[Accepted]:
        """Record an expense, an income, or a transfer between two of the household's accounts.

        `amount` is a positive decimal string in the account's currency. The ledger stores
        balanced double-entry postings: an expense moves money from `account_id` to the
        category's expense account, an income the other way, a transfer to `to_account_id`."""
        result = c.run(lambda: c.services.transactions.record(c.household, data, c.user_id))
        return accepted(result, 201, f"{self.path}/{result.id}")

    @command(post, "/bulk", "recordTransactions", 201, guards=WRITE)
    def record_many(
        self,
        data: JSONBody[RecordTransactions],
        c: NamedDependency[Caller],
    ) -> Response[BulkAccepted]:
        """Record up to 1,000 transactions in one append: all or none. A refused item is
        named by its position (`item`) in the problem document; nothing is recorded then."""
        record = c.services.transactions.record_many
        result = c.run(lambda: record(c.household, data.transactions, c.user_id))
        body = BulkAccepted(
            ids=list(result.created[: len(data.transactions)]), consistency_token=result.position
        )
        return Response(body, status_code=201, headers={CONSISTENCY_HEADER: str(result.position)})

    @command(put, "/{transaction_id:uuid}", "editTransaction", guards=WRITE)
    def edit(
        self,
        transaction_id: FromPath[UUID],
        data: JSONBody[EditTransaction],
        c: NamedDependency[Caller],
        if_match: IfMatch = None,
    ) -> Response[Accepted]:
        """Change description, merchant, date, tags or notes. Send `If-Match: <version>`:
        if someone changed the transaction since, the answer is 409 with their changes."""
        version = expected_version(if_match)
        edit = c.services.transactions.edit
        return accepted(c.run(lambda: edit(c.household, transaction_id, data, version, c.user_id)))

    @command(put, "/{transaction_id:uuid}/category", "recategoriseTransaction", guards=WRITE)
    def recategorise(
        self,
        transaction_id: FromPath[UUID],
        data: JSONBody[Recategorise],
        c: NamedDependency[Caller],
        if_match: IfMatch = None,
    ) -> Response[Accepted]:
        """Put the transaction in another category (its counter-posting moves with it)."""
        version = expected_version(if_match)
        move = c.services.transactions.recategorise
        return accepted(c.run(lambda: move(c.household, transaction_id, data, version, c.user_id)))

    @command(post, "/{transaction_id:uuid}/post", "postTransaction", guards=WRITE)
    def post_(
        self,
        transaction_id: FromPath[UUID],
        c: NamedDependency[Caller],
        if_match: IfMatch = None,
        data: JSONBody[PostTransaction | None] = None,
    ) -> Response[Accepted]:
        """Post a pending transaction (an authorisation), or resolve a dispute in its favour.
        A pending one may post with its final `amount` or `date` (a tip added, a later
        booking day): the account then holds the final amount instead of the held one."""
        version = expected_version(if_match)
        post_it = c.services.transactions.post
        return accepted(c.run(lambda: post_it(c.household, transaction_id, version, c.user_id, data)))

    @command(post, "/{transaction_id:uuid}/void", "voidTransaction", guards=WRITE)
    def void(
        self,
        transaction_id: FromPath[UUID],
        data: JSONBody[Reason],
        c: NamedDependency[Caller],
        if_match: IfMatch = None,
    ) -> Response[Accepted]:
        """Void a pending transaction: the authorisation is released and the held amount
        returns to the balance. Pending holds also expire by themselves (`hold_days`)."""
        version = expected_version(if_match)
        void = c.services.transactions.void
        return accepted(c.run(lambda: void(c.household, transaction_id, data, version, c.user_id)))

    @command(post, "/{transaction_id:uuid}/dispute", "disputeTransaction", guards=WRITE)
    def dispute(
        self,
        transaction_id: FromPath[UUID],
        data: JSONBody[Reason],
        c: NamedDependency[Caller],
        if_match: IfMatch = None,
    ) -> Response[Accepted]:
        """Dispute a posted transaction."""
        version = expected_version(if_match)
        dispute = c.services.transactions.dispute
        return accepted(c.run(lambda: dispute(c.household, transaction_id, data, version, c.user_id)))

    @command(delete, "/{transaction_id:uuid}", "cancelTransaction", guards=WRITE)
    def cancel(
        self,
        transaction_id: FromPath[UUID],
        c: NamedDependency[Caller],
        if_match: IfMatch = None,
        reason: Annotated[str, QueryParameter(name="reason", required=False, max_length=500)] = "",
    ) -> Response[Accepted]:
        """Cancel a transaction: its postings leave the balances; the history keeps it."""
        version = expected_version(if_match)
        cancel = c.services.transactions.cancel
        why = Reason(reason=reason)
        return accepted(c.run(lambda: cancel(c.household, transaction_id, why, version, c.user_id)))


class HistoryEntry(msgspec.Struct, kw_only=True):
    version: int
    type: str  # e.g. Transaction.RuleApplied
    at: str
    data: dict[str, Any]


class Suggested(msgspec.Struct, kw_only=True):
    category: str
    confidence: float


class Suggestions(msgspec.Struct, kw_only=True):
    description: str
    merchant: str | None
    suggestions: list[Suggested]  # best first; empty before the household has history


class CategorizeHandlers:
    @post(
        "/categorize",
        operation_id="categorizeTransactions",
        status_code=200,
        sync_to_thread=True,
        responses=COMMON_PROBLEMS,
    )
    def categorize(self, data: JSONBody[Categorize], c: NamedDependency[Caller]) -> list[Suggestions]:
        """Suggest categories for descriptions (nothing is stored): the learned categoriser,
        trained on your household's own categorised history, gives up to three categories
        with a confidence between 0 and 1 (the share of times it expects to be right)."""
        out = []
        for item in data.items:
            amount = None if item.amount is None else Decimal(item.amount)
            example = Example(item.description, item.merchant, item.kind, amount)
            found = c.services.categoriser.suggest(c.household, example)
            out.append(
                Suggestions(
                    description=item.description,
                    merchant=item.merchant,
                    suggestions=[
                        Suggested(category=s.category, confidence=round(s.confidence, 4)) for s in found
                    ],
                )
            )
        return out


def _amount(value: str | None) -> Decimal | None:
    try:
        return None if value is None else Decimal(value)
    except InvalidOperation:
        raise InvalidInputError(f"{value!r} is not an amount") from None


class TransactionQueryHandlers:
    """Query endpoints (they read read models only)."""

    @query("/", "listTransactions")
    def list_(
        self,
        c: NamedDependency[Caller],
        account_id: FromQuery[UUID | None] = None,
        date_from: FromQuery[dt.date | None] = None,
        date_to: FromQuery[dt.date | None] = None,
        category: CategoryQuery = None,
        status: FromQuery[Literal["pending", "posted", "cancelled", "disputed"] | None] = None,
        kind: FromQuery[Literal["expense", "income", "transfer"] | None] = None,
        min_amount: AmountQuery = None,
        max_amount: AmountQuery = None,
        q_: TextQuery = None,
        limit: Annotated[int, QueryParameter(ge=1, le=q.MAX_PAGE)] = 50,
        cursor: CursorQuery = None,
        order: Annotated[
            Literal["date", "relevance"],
            QueryParameter(description="`relevance` (with `q`): the best matches first."),
        ] = "date",
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> TransactionPage:
        """Transactions newest first, filtered (all filters combine). `q` searches
        description, merchant, notes and category: each of its words is the beginning of
        some word there ("cof lond" finds "Costa Coffee London"); on PostgreSQL full-text
        search, or on Elasticsearch where `ELASTICSEARCH_URL` is set, with the same answer
        shape. `order=relevance` ranks the matches. Follow `next_cursor` for the next page.
        With a consistency token, a search waits for the search index too."""
        read_after(c.services, (TRANSACTIONS_SCHEMA,), token, after, search=q_ is not None)
        filters = q.TransactionFilter(
            account_id=account_id,
            date_from=date_from,
            date_to=date_to,
            category=category,
            status=status,
            kind=kind,
            min_amount=_amount(min_amount),
            max_amount=_amount(max_amount),
            text=q_,
        )
        if q_ is not None:
            return c.services.search.find(c.household, filters, limit, cursor, c.user_id, order)
        return q.list_transactions(c.services.reads, c.household, filters, limit, cursor, c.user_id, order)

    @query("/{transaction_id:uuid}/changes", "getTransactionChanges")
    def changes(
        self, transaction_id: FromPath[UUID], c: NamedDependency[Caller]
    ) -> list[audit_q.ChangeEntry]:
        """Field by field: who changed what from what to what (amount, date, category,
        status, ...), when and why (the event: an edit, an import, a rule run, the
        categoriser; the command; the request's correlation id), oldest first."""
        c.services.transactions.history(c.household, transaction_id, c.user_id)  # 404 unless visible
        return audit_q.field_changes(c.services.reads, transaction_id, lambda transaction: transaction)

    @query("/{transaction_id:uuid}/history", "getTransactionHistory")
    def history(self, transaction_id: FromPath[UUID], c: NamedDependency[Caller]) -> list[HistoryEntry]:
        """The transaction's events, oldest first, from the event log itself: what was
        recorded, and every change since with its cause (a person's edit, an import, a
        rule and its run, the learned categoriser)."""
        found = c.services.transactions.history(c.household, transaction_id, c.user_id)
        return [
            HistoryEntry(version=e["version"], type=e["type"], at=e["timestamp"], data=e["data"])
            for e in found
        ]

    @query("/{transaction_id:uuid}", "getTransaction")
    def get_one(
        self,
        transaction_id: FromPath[UUID],
        c: NamedDependency[Caller],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> TransactionView:
        """One transaction."""
        read_after(c.services, (TRANSACTIONS_SCHEMA,), token, after)
        return q.get_transaction(c.services.reads, c.household, transaction_id, c.user_id)


class TransactionController(
    TransactionCommandHandlers, CategorizeHandlers, TransactionQueryHandlers, Controller
):
    """Litestar allows one controller per path: it joins the command and query handlers."""

    path = "/api/v1/transactions"
    tags = ["transactions"]
    dependencies = DEPENDENCIES
