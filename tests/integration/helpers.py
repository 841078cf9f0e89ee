"""Small builders shared by integration tests."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import psycopg

from commands.accounts import AccountCommands
from commands.application import Ledger, event_store_env
from commands.categorisation import CategoryCommands
from commands.messages import OpenAccount, RecordTransaction
from commands.transactions import TransactionCommands


class Books:
    """A ledger application with its command handlers, for one test database."""

    def __init__(self, conninfo: str, **env: Any) -> None:
        self.ledger = Ledger(event_store_env(conninfo, **env))
        self.accounts = AccountCommands(self.ledger)
        self.transactions = TransactionCommands(self.ledger)
        self.categories = CategoryCommands(self.ledger)

    def open(
        self, household: UUID, name: str = "Checking", minimum: str | None = None, currency: str = "EUR"
    ) -> UUID:
        return self.accounts.open(
            household, OpenAccount(name=name, currency=currency, minimum_balance=minimum)
        ).id

    def record(self, household: UUID, kind: str, account: UUID, amount: str, **fields: Any) -> UUID:
        command = RecordTransaction(
            kind=kind,  # type: ignore[arg-type]
            account_id=account,
            amount=amount,
            date=fields.pop("date", dt.date(2026, 11, 1)),
            **fields,
        )
        return self.transactions.record(household, command).id

    def close(self) -> None:
        self.ledger.close()


def dump(conninfo: str, schema: str, table: str, order: str) -> list[tuple[Any, ...]]:
    """Every row of a read-model table, in a stable order."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(f"SELECT * FROM {schema}.{table} ORDER BY {order}").fetchall()
