"""Closing and reopening a household's periods (the write side of ledger/books.py).

A close's balances come from the event store, not the read models: every account the
household opened, each posting its account applied and reversed, and the date of the
transaction it belongs to now. The chain head is the digest of a checkpoint taken just
before, so it covers every event stored until then.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from uuid import UUID

from commands.absence import ABSENT
from commands.application import Ledger
from commands.audit import MAX_CHECKPOINT, checkpoint, head
from commands.closed_periods import load_books
from commands.loading import load, with_retries
from commands.write_path import Appended, append
from ledger.account import Account
from ledger.books import Books
from ledger.errors import InvalidInputError, NotFoundError
from ledger.money import Money
from ledger.transaction import Status, Transaction

OPENED_TOPIC = "ledger.account:Account.Opened"
PAGE = 1000


def household_accounts(app: Ledger, household_id: UUID) -> Iterator[UUID]:
    """The ids of every account the household opened, from the event log's notifications."""
    start = 1
    while True:
        page = app.recorder.select_notifications(start, PAGE, topics=[OPENED_TOPIC])
        for notification in page:
            opened = app.mapper.to_domain_event(notification)
            if opened.household_id == household_id:  # type: ignore[attr-defined]
                yield opened.originator_id
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def net_by_transaction(app: Ledger, account_id: UUID) -> dict[UUID, Decimal]:
    """What each transaction adds to the account now: postings applied less reversed."""
    net: dict[UUID, Decimal] = defaultdict(Decimal)
    for e in app.events.get(account_id):
        if isinstance(e, Account.PostingApplied):  # type: ignore[attr-defined]
            net[e.transaction_id] += e.amount
        elif isinstance(e, Account.PostingReversed):  # type: ignore[attr-defined]
            net[e.transaction_id] -= e.amount
    return {t: amount for t, amount in net.items() if amount != 0}


def balances_through(
    app: Ledger, household_id: UUID, through: dt.date, read: dict[UUID, int]
) -> tuple[dict[UUID, Money], list[UUID]]:
    """Each account's balance from postings dated on or before ``through``, and the pending
    transactions dated then; ``read`` gets the version of every aggregate they come from."""
    balances: dict[UUID, Money] = {}
    pending: set[UUID] = set()
    dates: dict[UUID, Transaction] = {}  # a transfer touches two accounts: load it once
    for account_id in household_accounts(app, household_id):
        account = load(app, Account, household_id, account_id)
        read[account_id] = account.version
        total = Decimal(0)
        for transaction_id, amount in net_by_transaction(app, account_id).items():
            if transaction_id not in dates:
                dates[transaction_id] = load(app, Transaction, household_id, transaction_id)
                read[transaction_id] = dates[transaction_id].version
            transaction = dates[transaction_id]
            if transaction.date <= through:
                total += amount
                if transaction.status is Status.PENDING:
                    pending.add(transaction_id)
        balances[account_id] = Money(total, account.currency)
    return balances, sorted(pending, key=str)


def chain_head(conninfo: str) -> str:
    """Checkpoint everything stored so far, then the chain's head as hex."""
    while checkpoint(conninfo) >= MAX_CHECKPOINT:
        pass
    return head(conninfo).hex()


class PeriodCommands:
    """Close (and, for admins, reopen) a household's periods."""

    def __init__(self, app: Ledger, conninfo: str) -> None:
        self.app = app
        self.conninfo = conninfo

    def close(self, household_id: UUID, through: dt.date, actor: UUID | None) -> Appended:
        if through > dt.datetime.now(dt.UTC).date():
            raise InvalidInputError(f"{through} has not come yet: a period closes once it has ended")

        def attempt() -> Appended:
            books = load_books(self.app, household_id) or Books.open(household_id)
            books.check_can_close(through)  # before the work of computing the balances
            head_hex = chain_head(self.conninfo)
            read: dict[UUID, int] = {}
            balances, pending = balances_through(self.app, household_id, through, read)
            books.close(through, balances, head_hex, actor, pending)
            # Stored only if no account or transaction it summed changed meanwhile (else
            # tried again): the balances are those of the books at the close.
            closed = append(self.app, books, depends_on=read)
            ABSENT.forget([books.id])  # this process's appends read the books from now on
            return closed

        return with_retries(attempt)

    def reopen(self, household_id: UUID, reason: str, actor: UUID) -> Appended:
        def attempt() -> Appended:
            books = self.books(household_id)
            books.reopen(reason, actor)
            return append(self.app, books)

        return with_retries(attempt)

    def books(self, household_id: UUID, books_id: UUID | None = None) -> Books:
        """The household's books (an empty one if it never closed); another household's
        books do not exist."""
        books = load_books(self.app, household_id)
        if books_id is not None and (books is None or books.id != books_id):
            raise NotFoundError(f"no books {books_id}")
        return books or Books.open(household_id)
