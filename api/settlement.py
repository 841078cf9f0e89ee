"""Household settlement endpoints: shared expenses, incomes, settle-ups, who owes whom."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, Response, delete, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.accounts import DEPENDENCIES, WRITE
from api.consistency import TokenHeader, TokenQuery, read_after
from api.responses import CONSISTENCY_HEADER, Accepted, accepted, command, query
from api.tenancy import Caller
from commands.settlement import settled
from commands.settlement_messages import SetIncomes, SettleUp, ShareExpense
from queries import settlement as q
from queries.db import SETTLEMENT_SCHEMA, TRANSACTIONS_SCHEMA

SCHEMAS = (SETTLEMENT_SCHEMA, TRANSACTIONS_SCHEMA)


class SettleUpAccepted(msgspec.Struct, kw_only=True):
    """A settle-up was recorded: its id, the transfer recorded with it (if any), the
    household's split book's new version and the consistency token."""

    id: UUID
    transaction_id: UUID | None
    version: int
    consistency_token: int


class SettlementCommandHandlers:
    path = "/api/v1/settlement"

    @command(post, "/shares", "shareExpense", 201, guards=WRITE)
    def share(self, data: JSONBody[ShareExpense], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Share an expense you can see between members of the household: `equal`, by
        `ratio` (`weights`: member id -> weight) or by `income` (the incomes last set).
        The shares are exact in the currency's minor units and sum to the expense's
        amount; left-over minor units go to the largest remainders (ties: lower member id).
        A transaction is shared at most once: remove its share to share it differently."""
        result = c.run(lambda: c.services.settlement.share(c.household, data, c.user_id))
        return accepted(result, 201, f"{self.path}/shares")

    @command(delete, "/shares/{transaction_id:uuid}", "unshareExpense", guards=WRITE)
    def unshare(self, transaction_id: FromPath[UUID], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Remove the share of a transaction: it no longer counts in anyone's balance."""
        unshare = c.services.settlement.unshare
        return accepted(c.run(lambda: unshare(c.household, transaction_id, c.user_id)))

    @command(put, "/incomes", "setIncomes", guards=WRITE)
    def set_incomes(self, data: JSONBody[SetIncomes], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Replace the members' incomes (positive amounts in one currency) that the
        `income` method splits by. Shares made earlier keep their amounts."""
        return accepted(c.run(lambda: c.services.settlement.set_incomes(c.household, data)))

    @command(post, "/settle-ups", "settleUp", 201, guards=WRITE)
    def settle_up(self, data: JSONBody[SettleUp], c: NamedDependency[Caller]) -> Response[SettleUpAccepted]:
        """Record that `from_member` paid `to_member` back `amount` in `currency`. With
        `from_account_id` and `to_account_id` (accounts of the household in that currency,
        on which you have full access), the payment is also recorded as a transfer between
        them, in the same write as the settle-up. A retry with the same Idempotency-Key
        records nothing more."""
        result = c.run(lambda: c.services.settlement.settle_up(c.household, data, c.user_id))
        settlement_id, transfer = settled(result)
        body = SettleUpAccepted(
            id=settlement_id,
            transaction_id=transfer,
            version=result.version,
            consistency_token=result.position,
        )
        headers = {CONSISTENCY_HEADER: str(result.position), "Location": self.path}
        return Response(body, status_code=201, headers=headers)


class SettlementQueryHandlers:
    @query("/", "getSettlement")
    def overview(
        self, c: NamedDependency[Caller], token: TokenHeader = None, after: TokenQuery = None
    ) -> q.SettlementView:
        """Per currency, each member's paid, owed, settled out and in, and net `balance`
        (positive: the others owe them), and the transfers that settle every balance (the
        largest debtor pays the largest creditor; at most one fewer than the members).
        Shares of cancelled, voided, expired or import-reverted transactions do not count."""
        read_after(c.services, SCHEMAS, token, after)
        return q.settlement(c.services.reads, c.household)

    @query("/shares", "listSharedExpenses")
    def shares(
        self, c: NamedDependency[Caller], token: TokenHeader = None, after: TokenQuery = None
    ) -> list[q.SharedExpense]:
        """The household's shared expenses, newest first, with each member's share;
        `counts` is false once the transaction was cancelled. Date and description show
        only for transactions you may see."""
        read_after(c.services, SCHEMAS, token, after)
        return q.shared_expenses(c.services.reads, c.household, c.user_id)


class SettlementController(SettlementCommandHandlers, SettlementQueryHandlers, Controller):
    path = "/api/v1/settlement"
    tags = ["settlement"]
    dependencies = DEPENDENCIES
