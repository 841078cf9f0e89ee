"""Reconciling an account against a bank statement (a command that reads the read models,
fully caught up, to find the balance and the transactions a statement confirms)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import UUID

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.accounts import DEPENDENCIES, WRITE
from api.responses import CONSISTENCY_HEADER, command
from api.tenancy import Caller
from commands.messages import ReconcileAccount
from commands.reconciliation import ReconciliationMismatchError
from commands.write_path import Appended
from ledger.money import Money, parse_amount
from queries import accounts as qa
from queries import transactions as qt
from queries.consistency import head, wait_for
from queries.db import ACCOUNTS_SCHEMA, TRANSACTIONS_SCHEMA


class Reconciled(msgspec.Struct, kw_only=True):
    account_id: UUID
    closing_date: dt.date
    reconciled: int
    consistency_token: int


class ReconciliationController(Controller):
    path = "/api/v1/accounts"
    tags = ["accounts"]
    dependencies = DEPENDENCIES

    @command(post, "/{account_id:uuid}/reconciliations", "reconcileAccount", guards=WRITE)
    def reconcile(
        self,
        account_id: FromPath[UUID],
        data: JSONBody[ReconcileAccount],
        c: NamedDependency[Caller],
    ) -> Response[Reconciled]:
        """Reconcile against a statement. If the ledger's balance at the end of `closing_date`
        equals `closing_balance`, the posted transactions up to that date are marked
        reconciled (they can no longer be cancelled, disputed or re-dated). Otherwise the
        answer is 409 with the `difference` and `candidates` that may explain it (pending or
        disputed entries, entries of the next week, entries of exactly the difference)."""
        earlier = c.services.idempotency.find(c.idempotency) if c.idempotency else None
        if earlier is not None:  # a retry answers as the first attempt did, whatever came since
            return answer(account_id, data.closing_date, earlier)
        reads = c.services.reads
        wait_for(
            reads, (ACCOUNTS_SCHEMA, TRANSACTIONS_SCHEMA), head(reads), c.services.settings.consistency_wait
        )
        account = qa.get_account(reads, c.household, account_id, c.user_id)
        statement = Money.of(parse_amount(data.closing_balance, account.currency), account.currency)
        ledger = Decimal(qa.balance(reads, c.household, account_id, data.closing_date, c.user_id).balance)
        if ledger != statement.amount:
            difference = statement.amount - ledger
            candidates = qt.reconciliation_candidates(
                reads, c.household, account_id, data.closing_date, difference, c.user_id
            )
            raise ReconciliationMismatchError(
                f"the statement shows {statement.amount}, the ledger {ledger} on {data.closing_date}",
                difference=str(difference),
                ledger_balance=str(ledger),
                statement_balance=str(statement.amount),
                candidates=msgspec.to_builtins(candidates),
            )
        ids = qt.unreconciled_until(reads, c.household, account_id, data.closing_date, c.user_id)
        reconcile = c.services.reconciliations.reconcile
        result = c.run(
            lambda: reconcile(
                c.household, account_id, data.closing_date, data.closing_balance, ids, c.user_id
            ),
        )
        return answer(account_id, data.closing_date, result)


def answer(account_id: UUID, closing_date: dt.date, result: Appended) -> Response[Reconciled]:
    body = Reconciled(
        account_id=account_id,
        closing_date=closing_date,
        reconciled=result.events - 1,  # one event per confirmed transaction, one on the account
        consistency_token=result.position,
    )
    return Response(body, headers={CONSISTENCY_HEADER: str(result.position)})
