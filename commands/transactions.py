"""Handlers of transaction commands: every change to balances saves the transaction and
the touched accounts together, so limits hold even under concurrent writers."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from commands.application import Ledger
from commands.loading import StripedLocks, check_expected_version, load, load_account, with_retries
from commands.messages import EditTransaction, Reason, Recategorise, RecordTransaction
from commands.write_path import Appended, append
from ledger.account import AccessLevel, Account
from ledger.errors import CurrencyMismatchError, NotFoundError
from ledger.money import Money, parse_amount
from ledger.posting import EntryKind, entry_postings
from ledger.transaction import Status, Transaction


class TransactionCommands:
    """Record, edit, recategorise, post, dispute and cancel transactions."""

    def __init__(self, app: Ledger, locks: StripedLocks | None = None) -> None:
        self.app = app
        self.locks = locks or StripedLocks()

    def record(self, household_id: UUID, command: RecordTransaction, actor: UUID | None = None) -> Appended:
        accounts = [a for a in (command.account_id, command.to_account_id) if a is not None]
        with self.locks.holding(accounts):
            return with_retries(lambda: self._record_once(household_id, command, actor))

    def _record_once(self, household_id: UUID, command: RecordTransaction, actor: UUID | None) -> Appended:
        account = load_account(self.app, household_id, command.account_id, actor, AccessLevel.FULL)
        if command.currency is not None and command.currency != account.currency:
            raise CurrencyMismatchError(f"account {account.id} holds {account.currency}")
        amount = Money.of(parse_amount(command.amount, account.currency), account.currency)
        to_account = None
        if command.to_account_id is not None:
            to_account = load_account(self.app, household_id, command.to_account_id, actor, AccessLevel.FULL)
        kind = EntryKind(command.kind)
        postings = entry_postings(
            kind,
            amount,
            account.id,
            category=command.category,
            to_account_id=None if to_account is None else to_account.id,
        )
        transaction = Transaction.record(
            household_id,
            kind,
            postings,
            command.date,
            command.description,
            merchant=command.merchant,
            category=command.category,
            tags=command.tags,
            notes=command.notes,
            status=Status(command.status),
        )
        accounts = {a.id: a for a in (account, to_account) if a is not None}
        for account_id, posting in transaction.household_account_postings():
            accounts[account_id].post(transaction.id, posting.amount)
        return append(self.app, transaction, *accounts.values())

    def edit(
        self,
        household_id: UUID,
        transaction_id: UUID,
        command: EditTransaction,
        expected: int | None,
        actor: UUID | None = None,
    ) -> Appended:
        changes = command.changes()
        return self._change(
            household_id, transaction_id, expected, actor, AccessLevel.ANNOTATE, lambda t: t.edit(changes)
        )

    def recategorise(
        self,
        household_id: UUID,
        transaction_id: UUID,
        command: Recategorise,
        expected: int | None,
        actor: UUID | None = None,
    ) -> Appended:
        category = command.category
        return self._change(
            household_id,
            transaction_id,
            expected,
            actor,
            AccessLevel.ANNOTATE,
            lambda t: t.recategorise(category),
        )

    def post(
        self, household_id: UUID, transaction_id: UUID, expected: int | None, actor: UUID | None = None
    ) -> Appended:
        return self._change(household_id, transaction_id, expected, actor, AccessLevel.FULL, Transaction.post)

    def dispute(
        self,
        household_id: UUID,
        transaction_id: UUID,
        command: Reason,
        expected: int | None,
        actor: UUID | None = None,
    ) -> Appended:
        reason = command.reason
        return self._change(
            household_id, transaction_id, expected, actor, AccessLevel.FULL, lambda t: t.dispute(reason)
        )

    def _change(
        self,
        household_id: UUID,
        transaction_id: UUID,
        expected: int | None,
        actor: UUID | None,
        needed: AccessLevel,
        change: Callable[[Transaction], None],
    ) -> Appended:
        """Load (with the actor's access checked), apply one domain change, append; retried."""

        def attempt() -> Appended:
            transaction, _ = self._load(household_id, transaction_id, expected, actor, needed)
            change(transaction)
            return append(self.app, transaction)

        return with_retries(attempt)

    def cancel(
        self,
        household_id: UUID,
        transaction_id: UUID,
        command: Reason,
        expected: int | None,
        actor: UUID | None = None,
    ) -> Appended:
        """Cancel and take the postings back out of the accounts' balances."""

        def attempt() -> Appended:
            transaction, accounts = self._load(
                household_id, transaction_id, expected, actor, AccessLevel.FULL
            )
            transaction.cancel(command.reason)
            for account_id, posting in transaction.household_account_postings():
                accounts[account_id].reverse(transaction.id, posting.amount)
            return append(self.app, transaction, *accounts.values())

        return with_retries(attempt)

    def _load(
        self,
        household_id: UUID,
        transaction_id: UUID,
        expected: int | None,
        actor: UUID | None,
        needed: AccessLevel,
    ) -> tuple[Transaction, dict[UUID, Account]]:
        """The transaction and its accounts, if the actor may see them all and has ``needed``
        on each; a transaction touching an account hidden from the actor does not exist."""
        transaction = load(self.app, Transaction, household_id, transaction_id)
        accounts = {}
        for account_id, _ in transaction.household_account_postings():
            try:
                accounts[account_id] = load_account(self.app, household_id, account_id, actor, needed)
            except NotFoundError:
                raise NotFoundError(f"no transaction {transaction_id}") from None
        check_expected_version(self.app, transaction, expected)
        return transaction, accounts
