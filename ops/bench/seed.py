"""A household with accounts and transactions, recorded through the command handlers."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from commands.accounts import AccountCommands
from commands.application import Ledger, event_store_env
from commands.messages import OpenAccount, RecordTransaction
from commands.transactions import TransactionCommands

CATEGORIES = ("groceries", "restaurants", "coffee", "fuel", "utilities", "clothing")


class Household:
    """One household's books in a (scratch) database, written as the API would write them."""

    def __init__(self, conninfo: str, **env: Any) -> None:
        self.ledger = Ledger(event_store_env(conninfo, **{"pool_size": 2, **env}))
        self.accounts = AccountCommands(self.ledger)
        self.transactions = TransactionCommands(self.ledger)
        self.id = uuid.uuid4()

    def open(self, count: int) -> list[uuid.UUID]:
        return [
            self.accounts.open(self.id, OpenAccount(name=f"Account {n}", currency="EUR")).id
            for n in range(count)
        ]

    def record(
        self,
        accounts: list[uuid.UUID],
        count: int,
        per_append: int = 1000,
        advance: Callable[[int], None] | None = None,
    ) -> list[int]:
        """Record ``count`` expenses spread over ``accounts``, ``per_append`` to an append;
        the number of events of each append."""
        sizes = []
        for start in range(0, count, per_append):
            batch = [
                expense(accounts[n % len(accounts)], n) for n in range(start, min(count, start + per_append))
            ]
            sizes.append(self.transactions.record_many(self.id, batch).events)
            if advance is not None:
                advance(len(batch))
        return sizes

    def close(self) -> None:
        self.ledger.close()


def expense(account: uuid.UUID, n: int) -> RecordTransaction:
    return RecordTransaction(
        kind="expense",
        account_id=account,
        amount=f"{1 + n % 97}.{n % 100:02d}",
        date=dt.date(2026, 1, 1) + dt.timedelta(days=n % 365),
        description=f"purchase {n}",
        merchant=f"Shop {n % 40}",
        category=CATEGORIES[n % len(CATEGORIES)],
    )
