"""Handlers of transaction commands: every change to balances saves the transaction and
the touched accounts together, so limits hold even under concurrent writers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from commands.application import Ledger
from commands.categorisation import (
    LearnedCategoriser,
    categorise_new,
    changed,
    for_change,
    load_book,
    unstored,
)
from commands.history import describe
from commands.loading import (
    StripedLocks,
    append_timeout,
    check_expected_version,
    load,
    load_account,
    with_retries,
)
from commands.messages import EditTransaction, PostTransaction, Reason, Recategorise, RecordTransaction
from commands.write_path import Appended, append
from ledger.account import AccessLevel, Account
from ledger.categories import CategoryBook
from ledger.errors import CurrencyMismatchError, DomainError, InvalidInputError, NotFoundError
from ledger.money import Money, convert, parse_amount, parse_rate
from ledger.posting import EntryKind, entry_postings
from ledger.transaction import Status, Transaction

MAX_BULK = 1000
DEFAULT_HOLD_DAYS = 7  # a card authorisation that is not posted within a week is released


def settle(
    transaction: Transaction,
    accounts: dict[UUID, Account],
    amount: Money | None,
    on: dt.date | None,
    batch: UUID | None = None,
) -> None:
    """Post a pending transaction with its final amount and date: the accounts give back
    what was held and take the final amount."""
    own = transaction.household_account_postings()
    source = next((a for a, p in own if p.amount.amount < 0), own[0][0])
    target = next((a for a, p in own if p.amount.amount > 0 and a != source), None)
    held = own[0][1].amount
    size = amount if amount is not None else Money.of(abs(held.amount), held.currency)
    kind = transaction.kind
    postings = entry_postings(
        kind,
        size,
        source if kind is not EntryKind.INCOME else own[0][0],
        category=transaction.category,
        to_account_id=target if kind is EntryKind.TRANSFER else None,
    )
    for account_id, posting in own:
        accounts[account_id].reverse(transaction.id, posting.amount)
    transaction.settle(postings, on or transaction.date, batch)
    for account_id, posting in transaction.household_account_postings():
        accounts[account_id].post(transaction.id, posting.amount)


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
        self.hold_days = DEFAULT_HOLD_DAYS

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
        with self.locks.holding(touched, append_timeout(self.app)):
            return with_retries(lambda: self._record_once(household_id, commands, actor))

    def _record_once(
        self, household_id: UUID, commands: list[RecordTransaction], actor: UUID | None
    ) -> Appended:
        accounts: dict[UUID, Account] = {}  # loaded once: postings of later items see earlier ones
        shared = load_book(self.app, household_id, remember_absence=True, shared=True)
        book = for_change(shared, (c.category for c in commands))  # only read, unless a name is new
        transactions = []
        for item, command in enumerate(commands):
            try:
                transactions.append(
                    self._build(household_id, command, actor, accounts, book, read_only_book=book is shared)
                )
            except DomainError as error:
                if len(commands) > 1:
                    error.extra["item"] = item
                raise
        return append(
            self.app, transactions[0], *transactions[1:], *accounts.values(), *changed(book),
            depends_on=unstored(book),
        )  # fmt: skip

    def record_with(
        self, household_id: UUID, command: RecordTransaction, transaction_id: UUID, cause: Aggregate
    ) -> Appended:
        """Record a transaction of a given id in one append with the aggregate that caused
        it (a schedule's occurrence): both or neither, once (the id cannot be stored twice).
        No retries here: the caller reloads ``cause`` and tries again."""
        accounts: dict[UUID, Account] = {}
        book = load_book(self.app, household_id)
        with self.locks.holding({command.account_id}, append_timeout(self.app)):
            transaction = self._build(household_id, command, None, accounts, book, transaction_id)
            return append(self.app, cause, transaction, *accounts.values(), *changed(book))

    def _build(
        self,
        household_id: UUID,
        command: RecordTransaction,
        actor: UUID | None,
        accounts: dict[UUID, Account],
        book: CategoryBook,
        transaction_id: UUID | None = None,
        *,
        read_only_book: bool = False,
    ) -> Transaction:
        """A new transaction, with its postings applied to the (shared) loaded accounts, and
        categorised: by the person, else by a rule, else by the learned categoriser.
        ``read_only_book``: the cache's own book (``load_book(shared=True)``), never changed."""
        for account_id in (command.account_id, command.to_account_id):
            if account_id is not None and account_id not in accounts:
                accounts[account_id] = load_account(
                    self.app, household_id, account_id, actor, AccessLevel.FULL
                )
        account = accounts[command.account_id]
        amount, foreign = self._amounts(command, account)
        kind = EntryKind(command.kind)
        category = book.usable(command.category, kind, may_add=not read_only_book)
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
            id=transaction_id,
        )
        if foreign is not None:
            transaction.paid_in(*foreign)
        if transaction.status is Status.PENDING:
            days = command.hold_days or self.hold_days
            transaction.hold(dt.datetime.now(dt.UTC) + dt.timedelta(days=days))
        elif command.hold_days is not None:
            raise InvalidInputError("hold_days is for a pending transaction")
        categorise_new(book, transaction, category is not None, self.categoriser)
        for account_id, posting in transaction.household_account_postings():
            accounts[account_id].post(transaction.id, posting.amount)
        return transaction

    @staticmethod
    def _amounts(command: RecordTransaction, account: Account) -> tuple[Money, tuple[Money, Decimal] | None]:
        """The amount in the account's currency, and the foreign amount and rate, if any."""
        foreign = command.currency is not None and command.currency != account.currency
        if not foreign:
            if command.rate is not None or command.account_amount is not None:
                raise InvalidInputError("rate and account_amount are for an amount in another currency")
            return Money.of(parse_amount(command.amount, account.currency), account.currency), None
        assert command.currency is not None
        if (command.rate is None) == (command.account_amount is None):
            raise CurrencyMismatchError(
                f"account {account.id} holds {account.currency}: give the rate or the account_amount"
            )
        original = Money.of(parse_amount(command.amount, command.currency), command.currency)
        if command.rate is not None:
            rate = parse_rate(command.rate)
            amount = convert(original, rate, account.currency)
            if amount.amount <= 0:
                raise InvalidInputError("at this rate the amount rounds to nothing")
        else:
            assert command.account_amount is not None
            amount = Money.of(parse_amount(command.account_amount, account.currency), account.currency)
            rate = parse_rate(
                format((amount.amount / original.amount).quantize(Decimal("1e-10")).normalize(), "f")
            )
        return amount, (original, rate)

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
        self,
        household_id: UUID,
        transaction_id: UUID,
        expected: int | None,
        actor: UUID | None = None,
        command: PostTransaction | None = None,
    ) -> Appended:
        """Post a pending transaction (or resolve a dispute); a pending one may settle with
        another amount or date, and the accounts then hold the final amount."""
        if command is None or (command.amount is None and command.date is None):
            return self._change(
                household_id, transaction_id, expected, actor, AccessLevel.FULL, Transaction.post
            )

        def attempt() -> Appended:
            transaction, accounts = self._load(
                household_id, transaction_id, expected, actor, AccessLevel.FULL
            )
            currency = transaction.household_account_postings()[0][1].amount.currency
            amount = (
                None if command.amount is None else Money.of(parse_amount(command.amount, currency), currency)
            )
            settle(transaction, accounts, amount, command.date)
            return append(self.app, transaction, *accounts.values())

        return with_retries(attempt)

    def void(
        self,
        household_id: UUID,
        transaction_id: UUID,
        command: Reason,
        expected: int | None,
        actor: UUID | None = None,
    ) -> Appended:
        """Release a pending transaction's hold: its postings leave the balances."""
        released = self._release(
            household_id, transaction_id, expected, actor, lambda t: t.void(command.reason)
        )
        assert released is not None  # void always changes (or refuses)
        return released

    def expire(self, household_id: UUID, transaction_id: UUID, now: dt.datetime) -> Appended | None:
        """Expire one hold that ran out (None if it was posted or voided meanwhile)."""

        def due(transaction: Transaction) -> bool:
            held = transaction.status is Status.PENDING and transaction.expires_at is not None
            if not held or transaction.expires_at > now:  # type: ignore[operator]
                return False
            transaction.expire(now)
            return True

        return self._release(household_id, transaction_id, None, None, due)

    def _release(
        self,
        household_id: UUID,
        transaction_id: UUID,
        expected: int | None,
        actor: UUID | None,
        change: Callable[[Transaction], bool | None],
    ) -> Appended | None:
        """Apply a change that takes the transaction out of the balances (cancel, void,
        expire), reverse its postings on its accounts, append all together; retried. A
        change answering False had nothing to do: nothing is appended."""

        def attempt() -> Appended | None:
            transaction, accounts = self._load(
                household_id, transaction_id, expected, actor, AccessLevel.FULL
            )
            if change(transaction) is False:
                return None
            for account_id, posting in transaction.household_account_postings():
                accounts[account_id].reverse(transaction.id, posting.amount)
            return append(self.app, transaction, *accounts.values())

        return with_retries(attempt)

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

    def history(self, household_id: UUID, transaction_id: UUID, actor: UUID | None) -> list[dict[str, Any]]:
        """Every event of the transaction, oldest first (who changed what: a person, an
        import, a rule run), if the actor may see it."""
        self._load(household_id, transaction_id, None, actor, AccessLevel.VIEW)
        return [describe(e) for e in self.app.events.get(transaction_id)]

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
        released = self._release(
            household_id, transaction_id, expected, actor, lambda t: t.cancel(command.reason)
        )
        assert released is not None  # a cancel always changes (or refuses)
        return released

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
