"""Handlers of transaction commands: every change to balances saves the transaction and
the touched accounts together, so limits hold even under concurrent writers."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from commands.application import Ledger
from commands.categorisation import LearnedCategoriser, categorise_new, changed, load_book
from commands.loading import StripedLocks, check_expected_version, load, load_account, with_retries
from commands.messages import EditTransaction, Reason, Recategorise, RecordTransaction
from commands.write_path import Appended, append
from ledger.account import AccessLevel, Account
from ledger.categories import CategoryBook
from ledger.errors import CurrencyMismatchError, DomainError, InvalidInputError, NotFoundError
from ledger.money import Money, parse_amount
from ledger.posting import EntryKind, entry_postings
from ledger.transaction import Status, Transaction

MAX_BULK = 1000


class TransactionCommands:
    """Record, edit, recategorise, post, dispute and cancel transactions."""

    def __init__(
        self,
        app: Ledger,
        locks: StripedLocks | None = None,
        categoriser: LearnedCategoriser | None = None,
    ) -> None:
        self.app = app
        self.locks = locks or StripedLocks()
        self.categoriser = categoriser

    def record(self, household_id: UUID, command: RecordTransaction, actor: UUID | None = None) -> Appended:
        return self.record_many(household_id, [command], actor)

    def record_many(
        self, household_id: UUID, commands: list[RecordTransaction], actor: UUID | None = None
    ) -> Appended:
        """Record transactions in one append: all of them or none. A refused item names its
        position in ``extra["item"]``."""
        if not 1 <= len(commands) <= MAX_BULK:
            raise InvalidInputError(f"send 1 to {MAX_BULK} transactions")
        touched = {a for c in commands for a in (c.account_id, c.to_account_id) if a is not None}
        with self.locks.holding(touched):
            return with_retries(lambda: self._record_once(household_id, commands, actor))

    def _record_once(
        self, household_id: UUID, commands: list[RecordTransaction], actor: UUID | None
    ) -> Appended:
        accounts: dict[UUID, Account] = {}  # loaded once: postings of later items see earlier ones
        book = load_book(self.app, household_id)
        transactions = []
        for item, command in enumerate(commands):
            try:
                transactions.append(self._build(household_id, command, actor, accounts, book))
            except DomainError as error:
                if len(commands) > 1:
                    error.extra["item"] = item
                raise
        return append(self.app, transactions[0], *transactions[1:], *accounts.values(), *changed(book))

    def _build(
        self,
        household_id: UUID,
        command: RecordTransaction,
        actor: UUID | None,
        accounts: dict[UUID, Account],
        book: CategoryBook,
    ) -> Transaction:
        """A new transaction, with its postings applied to the (shared) loaded accounts, and
        categorised: by the person, else by a rule, else by the learned categoriser."""
        for account_id in (command.account_id, command.to_account_id):
            if account_id is not None and account_id not in accounts:
                accounts[account_id] = load_account(
                    self.app, household_id, account_id, actor, AccessLevel.FULL
                )
        account = accounts[command.account_id]
        if command.currency is not None and command.currency != account.currency:
            raise CurrencyMismatchError(f"account {account.id} holds {account.currency}")
        amount = Money.of(parse_amount(command.amount, account.currency), account.currency)
        kind = EntryKind(command.kind)
        category = book.usable(command.category, kind)
        postings = entry_postings(
            kind, amount, account.id, category=category, to_account_id=command.to_account_id
        )
        transaction = Transaction.record(
            household_id,
            kind,
            postings,
            command.date,
            command.description,
            merchant=command.merchant,
            category=category,
            tags=command.tags,
            notes=command.notes,
            status=Status(command.status),
        )
        categorise_new(book, transaction, category is not None, self.categoriser)
        for account_id, posting in transaction.household_account_postings():
            accounts[account_id].post(transaction.id, posting.amount)
        return transaction

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

        def attempt() -> Appended:
            transaction, _ = self._load(household_id, transaction_id, expected, actor, AccessLevel.ANNOTATE)
            book = load_book(self.app, household_id)
            transaction.recategorise(book.usable(command.category, transaction.kind) or "")
            return append(self.app, transaction, *changed(book))

        return with_retries(attempt)

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

    def attach_receipt(
        self,
        household_id: UUID,
        transaction_id: UUID,
        receipt: tuple[str, str, str, int],
        actor: UUID | None = None,
    ) -> Appended:
        """``receipt``: sha256, file name, content type, size (the file is stored already)."""
        sha256, name, content_type, size = receipt
        return self._change(
            household_id,
            transaction_id,
            None,
            actor,
            AccessLevel.ANNOTATE,
            lambda t: t.attach_receipt(sha256, name, content_type, size),
        )

    def check_annotatable(self, household_id: UUID, transaction_id: UUID, actor: UUID | None) -> None:
        """404 or 403 unless the actor may annotate the transaction (read from the store)."""
        self._load(household_id, transaction_id, None, actor, AccessLevel.ANNOTATE)

    def detach_receipt(
        self, household_id: UUID, transaction_id: UUID, sha256: str, actor: UUID | None = None
    ) -> Appended:
        return self._change(
            household_id,
            transaction_id,
            None,
            actor,
            AccessLevel.ANNOTATE,
            lambda t: t.detach_receipt(sha256),
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
