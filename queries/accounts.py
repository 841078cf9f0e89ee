"""Queries over the accounts read model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from ledger.errors import NotFoundError
from ledger.money import Money
from queries.db import ACCOUNTS_SCHEMA, TRANSACTIONS_SCHEMA, ReadStore
from queries.views import AccountView, BalanceView, SharingView

S = ACCOUNTS_SCHEMA


VISIBLE = (
    " AND (%s::uuid IS NULL OR owner_id = %s::uuid"
    " OR coalesce(member_access ->> %s, default_access) <> 'none')"
)


def visibility(viewer: UUID | None) -> tuple[Any, ...]:
    """Parameters of VISIBLE: None (the system) sees everything."""
    return (viewer, viewer, str(viewer) if viewer else "")


def access_of(row: dict[str, Any], viewer: UUID | None) -> str:
    if viewer is None or viewer == row["owner_id"]:
        return "full"
    return str(row["member_access"].get(str(viewer), row["default_access"]))


def _view(row: dict[str, Any], viewer: UUID | None = None) -> AccountView:
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
        owner_id=row["owner_id"],
        sharing=SharingView(default=row["default_access"], members=dict(row["member_access"])),
        your_access=access_of(row, viewer),
        reconciled_until=row["reconciled_until"],
    )


def list_accounts(store: ReadStore, household_id: UUID, viewer: UUID | None = None) -> list[AccountView]:
    """The household's accounts that ``viewer`` may see."""
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {S}.accounts WHERE household_id = %s {VISIBLE}"  # noqa: S608
            " ORDER BY opened_at, account_id",
            (household_id, *visibility(viewer)),
        )
        return [_view(row, viewer) for row in curs.fetchall()]


def get_account(
    store: ReadStore, household_id: UUID, account_id: UUID, viewer: UUID | None = None
) -> AccountView:
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {S}.accounts WHERE household_id = %s AND account_id = %s {VISIBLE}",  # noqa: S608
            (household_id, account_id, *visibility(viewer)),
        )
        row = curs.fetchone()
    if row is None:
        raise NotFoundError(f"no account {account_id}")
    return _view(row, viewer)


def balance(
    store: ReadStore, household_id: UUID, account_id: UUID, as_of: dt.date | None, viewer: UUID | None = None
) -> BalanceView:
    """The balance from the postings dated on or before ``as_of`` (all when None),
    leaving out cancelled transactions."""
    account = get_account(store, household_id, account_id, viewer)
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


class ExplainedPosting(msgspec.Struct, kw_only=True):
    transaction_id: UUID
    date: dt.date
    amount: str  # this account's posting (debit-positive)
    status: str
    description: str
    cause: str  # manual, import, transfer or scheduled
    import_batch_id: UUID | None
    rule_id: UUID | None  # the rule that categorised it, if one did


class BalanceExplanation(msgspec.Struct, kw_only=True):
    account_id: UUID
    currency: str
    at: dt.date | None
    balance: str
    postings: list[ExplainedPosting]  # oldest first; they add up to ``balance`` unless truncated
    truncated: bool


CAUSE = (
    "CASE WHEN t.import_batch_id IS NOT NULL THEN 'import' WHEN 'scheduled' = ANY(t.tags) THEN 'scheduled'"
    " WHEN t.kind = 'transfer' THEN 'transfer' ELSE 'manual' END"
)


def explain_balance(
    store: ReadStore,
    household_id: UUID,
    account_id: UUID,
    at: dt.date | None,
    limit: int,
    viewer: UUID | None,
) -> BalanceExplanation:
    """The postings that make the balance at the end of ``at``, each with its cause."""
    figure = balance(store, household_id, account_id, at, viewer)
    with store.cursor() as curs:
        curs.execute(
            "SELECT p.transaction_id, p.date, p.amount, p.status,"  # noqa: S608
            f" coalesce(t.description, '') AS description, {CAUSE} AS cause, t.import_batch_id, t.rule_id"
            f" FROM {S}.postings p LEFT JOIN {TRANSACTIONS_SCHEMA}.transactions t USING (transaction_id)"
            " WHERE p.household_id = %s AND p.account = %s AND p.status <> 'cancelled'"
            " AND (%s::date IS NULL OR p.date <= %s::date)"
            " ORDER BY p.date, p.transaction_id, p.line LIMIT %s",
            (household_id, str(account_id), at, at, limit + 1),
        )
        rows = curs.fetchall()
    postings = [ExplainedPosting(**{**row, "amount": str(row["amount"])}) for row in rows[:limit]]
    return BalanceExplanation(
        account_id=account_id, currency=figure.currency, at=at, balance=figure.balance,
        postings=postings, truncated=len(rows) > limit,
    )  # fmt: skip
