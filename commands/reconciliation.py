"""Reconciling an account against a bank statement: when the ledger's balance on the closing
date equals the statement's, the transactions up to that date are marked as confirmed."""

from __future__ import annotations

import datetime as dt
from uuid import UUID, uuid4

from commands.application import Ledger
from commands.loading import load, load_account, with_retries
from commands.write_path import Appended, append
from ledger.account import AccessLevel
from ledger.errors import ConflictError, InvalidInputError
from ledger.money import Money, parse_amount
from ledger.transaction import Transaction

MAX_PER_STATEMENT = 5000


class ReconciliationMismatchError(ConflictError):
    type = "reconciliation-mismatch"
    title = "The statement does not match the ledger"


class Reconciliations:
    def __init__(self, app: Ledger) -> None:
        self.app = app

    def reconcile(
        self,
        household_id: UUID,
        account_id: UUID,
        closing_date: dt.date,
        closing_balance: str,
        transaction_ids: list[UUID],
        actor: UUID | None = None,
    ) -> Appended:
        """Mark these transactions (checked again here, one by one) as confirmed by a new
        statement, and record the statement on the account: one append."""
        if len(transaction_ids) > MAX_PER_STATEMENT:
            raise InvalidInputError(f"a statement confirms at most {MAX_PER_STATEMENT} transactions")
        statement_id = uuid4()

        def attempt() -> Appended:
            account = load_account(self.app, household_id, account_id, actor, AccessLevel.FULL)
            balance = Money.of(parse_amount(closing_balance, account.currency), account.currency)
            confirmed = []
            for transaction_id in transaction_ids:
                transaction = load(self.app, Transaction, household_id, transaction_id)
                touched = {a for a, _ in transaction.household_account_postings()}
                if account_id not in touched or transaction.date > closing_date:
                    raise ConflictError(f"transaction {transaction_id} is not on this statement")
                transaction.reconcile(statement_id)
                confirmed.append(transaction)
            account.reconcile(statement_id, closing_date, balance, len(confirmed))
            return append(self.app, account, *confirmed)

        return with_retries(attempt)
