"""Queries over the accounts read model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.errors import NotFoundError
from ledger.money import Money
from queries.db import ACCOUNTS_SCHEMA, ReadStore
from queries.views import AccountView, BalanceView

S = ACCOUNTS_SCHEMA


def _view(row: dict[str, Any]) -> AccountView:
    minimum = row["minimum_balance"]
    return AccountView(
        id=row["account_id"],
        name=row["name"],
        kind=row["kind"],
        currency=row["currency"],
        status=row["status"],
        balance=str(Money.of(Decimal(row["balance"]), row["currency"]).amount),
        minimum_balance=None if minimum is None else str(minimum),
        version=row["version"],
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
    )


def list_accounts(store: ReadStore, household_id: UUID) -> list[AccountView]:
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {S}.accounts WHERE household_id = %s ORDER BY opened_at, account_id",  # noqa: S608
            (household_id,),
        )
        return [_view(row) for row in curs.fetchall()]


def get_account(store: ReadStore, household_id: UUID, account_id: UUID) -> AccountView:
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {S}.accounts WHERE household_id = %s AND account_id = %s",  # noqa: S608
            (household_id, account_id),
        )
        row = curs.fetchone()
    if row is None:
        raise NotFoundError(f"no account {account_id}")
    return _view(row)


def balance(store: ReadStore, household_id: UUID, account_id: UUID, as_of: dt.date | None) -> BalanceView:
    """The balance from the postings dated on or before ``as_of`` (all when None),
    leaving out cancelled transactions."""
    account = get_account(store, household_id, account_id)
    with store.cursor() as curs:
        curs.execute(
            f"SELECT coalesce(sum(amount), 0) AS total, count(*) AS n FROM {S}.postings"  # noqa: S608
            " WHERE household_id = %s AND account = %s AND status <> 'cancelled'"
            " AND (%s::date IS NULL OR date <= %s::date)",
            (household_id, str(account_id), as_of, as_of),
        )
        row = curs.fetchone()
    assert row is not None
    return BalanceView(
        account_id=account_id,
        currency=account.currency,
        balance=str(Money.of(Decimal(row["total"]), account.currency).amount),
        as_of=as_of,
        postings=int(row["n"]),
    )
