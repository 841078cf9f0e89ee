"""Handlers of settlement commands: share an expense, remove a share, set incomes, settle up.

The household's ``SplitBook`` is opened on first use. An expense can be shared only if the
actor may see it; a settle-up with two accounts records the transfer in the same append
as the settle-up (all or nothing).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from commands.application import Ledger
from commands.loading import load, load_account, with_retries
from commands.settlement_messages import SetIncomes, SettleUp, ShareExpense
from commands.write_path import Appended, append
from ledger.account import AccessLevel, Account
from ledger.errors import CurrencyMismatchError, IllegalTransitionError, InvalidInputError, NotFoundError
from ledger.household import Household
from ledger.money import Money, parse_amount
from ledger.posting import EntryKind, entry_postings
from ledger.settlement import SplitBook, settlement_id, split_book_id
from ledger.transaction import Status, Transaction


def load_book(app: Ledger, household_id: UUID) -> SplitBook:
    """The household's split book; a household that never shared anything gets a new one."""
    try:
        book: object = app.repository.get(split_book_id(household_id))
    except AggregateNotFoundError:
        return SplitBook.open(household_id)
    assert isinstance(book, SplitBook)
    return book


def settled(result: Appended) -> tuple[UUID, UUID | None]:
    """The settle-up's id and its transfer's id (if one was recorded), from what the
    append answered (a replayed Idempotency-Key answers the same)."""
    transfer = next((i for i in result.created if i != result.id), None)
    return settlement_id(result.id, result.version), transfer


class SettlementCommands:
    def __init__(self, app: Ledger) -> None:
        self.app = app

    def members(self, household_id: UUID) -> frozenset[UUID]:
        try:
            household: object = self.app.repository.get(household_id)
        except AggregateNotFoundError:
            household = None
        if not isinstance(household, Household):
            raise NotFoundError(f"no household {household_id}")
        return frozenset(household.members)

    def visible(
        self, household_id: UUID, transaction_id: UUID, actor: UUID | None
    ) -> tuple[Transaction, list[Account]]:
        """The transaction and its accounts, if the actor may see them all; else 404."""
        transaction = load(self.app, Transaction, household_id, transaction_id)
        accounts = []
        for account_id, _ in transaction.household_account_postings():
            try:
                accounts.append(load_account(self.app, household_id, account_id, actor, AccessLevel.VIEW))
            except NotFoundError:
                raise NotFoundError(f"no transaction {transaction_id}") from None
        return transaction, accounts

    def share(self, household_id: UUID, command: ShareExpense, actor: UUID | None) -> Appended:
        weights = None if command.weights is None else {m: Decimal(w) for m, w in command.weights.items()}

        def attempt() -> Appended:
            transaction, accounts = self.visible(household_id, command.transaction_id, actor)
            check_shareable(transaction)
            members = self.members(household_id)
            paid_by = command.paid_by or payer(accounts[0], members, actor)
            chosen = command.members or ([] if command.method == "ratio" else sorted(members))
            spent = transaction.household_account_postings()[0][1].amount
            amount = Money.of(abs(spent.amount), spent.currency)
            book = load_book(self.app, household_id)
            book.share(transaction.id, paid_by, amount, command.method, chosen, weights, members)
            return append(self.app, book)

        return with_retries(attempt)

    def unshare(self, household_id: UUID, transaction_id: UUID, actor: UUID | None) -> Appended:
        def attempt() -> Appended:
            self.visible(household_id, transaction_id, actor)
            book = load_book(self.app, household_id)
            book.unshare(transaction_id)
            return append(self.app, book)

        return with_retries(attempt)

    def set_incomes(self, household_id: UUID, command: SetIncomes) -> Appended:
        currency = command.currency
        incomes = {m: Money.of(parse_amount(a, currency), currency) for m, a in command.incomes.items()}

        def attempt() -> Appended:
            book = load_book(self.app, household_id)
            book.set_incomes(incomes, self.members(household_id))
            return append(self.app, book)

        return with_retries(attempt)

    def settle_up(self, household_id: UUID, command: SettleUp, actor: UUID | None) -> Appended:
        amount = Money.of(parse_amount(command.amount, command.currency), command.currency)
        with_accounts = command.from_account_id is not None or command.to_account_id is not None
        if with_accounts and (command.from_account_id is None or command.to_account_id is None):
            raise InvalidInputError(
                "a settle-up through accounts names both from_account_id and to_account_id"
            )
        transfer_id = uuid4() if with_accounts else None

        def attempt() -> Appended:
            accounts = self.transfer_accounts(household_id, command, actor) if with_accounts else []
            book = load_book(self.app, household_id)
            members = self.members(household_id)
            book.settle_up(command.from_member, command.to_member, amount, transfer_id, members)
            if transfer_id is None:
                return append(self.app, book)
            transfer = record_transfer(household_id, transfer_id, accounts, amount, command)
            return append(self.app, book, transfer, *accounts)

        return with_retries(attempt)

    def transfer_accounts(self, household_id: UUID, command: SettleUp, actor: UUID | None) -> list[Account]:
        accounts = []
        for account_id in (command.from_account_id, command.to_account_id):
            assert account_id is not None
            account = load_account(self.app, household_id, account_id, actor, AccessLevel.FULL)
            if account.currency != command.currency:
                raise CurrencyMismatchError(
                    f"account {account_id} holds {account.currency}, not {command.currency}"
                )
            accounts.append(account)
        return accounts


def check_shareable(transaction: Transaction) -> None:
    if transaction.kind is not EntryKind.EXPENSE:
        raise InvalidInputError("only an expense is shared")
    if transaction.status is Status.CANCELLED:
        raise IllegalTransitionError("a cancelled transaction is not shared")


def payer(account: Account, members: frozenset[UUID], actor: UUID | None) -> UUID:
    """Who paid, unless told: the owner of the expense's account, else the actor."""
    if account.owner_id is not None and account.owner_id in members:
        return account.owner_id
    if actor is None:
        raise InvalidInputError("say who paid (paid_by)")
    return actor


def record_transfer(
    household_id: UUID, transfer_id: UUID, accounts: list[Account], amount: Money, command: SettleUp
) -> Transaction:
    """The settle-up's payment, as a transfer between the two accounts (posted to both)."""
    source, target = accounts
    postings = entry_postings(EntryKind.TRANSFER, amount, source.id, to_account_id=target.id)
    on = command.date or dt.datetime.now(dt.UTC).date()
    transfer = Transaction.record(
        household_id, EntryKind.TRANSFER, postings, on, command.description, id=transfer_id
    )
    for account_id, posting in transfer.household_account_postings():
        next(a for a in accounts if a.id == account_id).post(transfer.id, posting.amount)
    return transfer
