"""Queries over the transactions read model: filters, full-text search, keyset pages."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.errors import InvalidInputError, NotFoundError
from queries.db import TRANSACTIONS_SCHEMA, ReadStore
from queries.search_terms import prefix_tsquery, search_terms
from queries.views import ReceiptView, TransactionPage, TransactionView

S = TRANSACTIONS_SCHEMA
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    """The list's filters; every one is optional and they combine with AND."""

    account_id: UUID | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    category: str | None = None
    status: str | None = None
    kind: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    text: str | None = None


def encode_cursor(row: dict[str, Any]) -> str:
    """Where a page ended: (rank,) date, time recorded and id of its last row."""
    key = f"{row['date'].isoformat()}|{row['recorded_at'].isoformat()}|{row['transaction_id']}"
    if "rank" in row:
        key = f"{row['rank']!r}|{key}"
    return base64.urlsafe_b64encode(key.encode()).decode()


def decode_cursor(cursor: str, ranked: bool = False) -> tuple[Any, ...]:
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        rank = (float(parts.pop(0)),) if ranked else ()
        on, recorded_at, transaction_id = parts
        return *rank, dt.date.fromisoformat(on), dt.datetime.fromisoformat(recorded_at), UUID(transaction_id)
    except (ValueError, binascii.Error, UnicodeDecodeError, IndexError):
        raise InvalidInputError("cursor is not one this API handed out") from None


HIDDEN_ACCOUNT = (
    f"NOT EXISTS (SELECT 1 FROM {S}.account_access a WHERE a.account_id = ANY(t.account_ids)"  # noqa: S608
    " AND a.owner_id IS DISTINCT FROM %s AND coalesce(a.member_access ->> %s, a.default_access) = 'none')"
)


def hidden_accounts(curs: Any, household_id: UUID, viewer: UUID | None) -> list[UUID]:
    """The household's accounts hidden from the viewer (none for the system)."""
    if viewer is None:
        return []
    curs.execute(
        f"SELECT account_id FROM {S}.account_access a WHERE household_id = %s"  # noqa: S608
        " AND a.owner_id IS DISTINCT FROM %s AND coalesce(a.member_access ->> %s, a.default_access) = 'none'",
        (household_id, viewer, str(viewer)),
    )
    return [row["account_id"] for row in curs.fetchall()]


def _where(household_id: UUID, f: TransactionFilter, viewer: UUID | None) -> tuple[str, list[Any]]:
    """Filters, plus: a transaction touching an account hidden from the viewer is left out."""
    clauses, params = ["t.household_id = %s"], [household_id]
    if viewer is not None:
        clauses.append(HIDDEN_ACCOUNT)
        params.extend([viewer, str(viewer)])
    optional = (
        ("%s = ANY(account_ids)", f.account_id),
        ("date >= %s", f.date_from),
        ("date <= %s", f.date_to),
        ("lower(category) = lower(%s)", f.category),
        ("status = %s", f.status),
        ("kind = %s", f.kind),
        ("amount >= %s", f.min_amount),
        ("amount <= %s", f.max_amount),
        ("search @@ to_tsquery('simple', %s)", prefix_tsquery(search_terms(f.text)) if f.text else None),
    )
    for clause, value in optional:
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return " AND ".join(clauses), params


def _view(row: dict[str, Any]) -> TransactionView:
    return TransactionView(
        id=row["transaction_id"],
        version=row["version"],
        kind=row["kind"],
        status=row["status"],
        date=row["date"],
        description=row["description"],
        merchant=row["merchant"],
        category=row["category"],
        tags=list(row["tags"]),
        notes=row["notes"],
        amount=str(row["amount"]),
        currency=row["currency"],
        account_id=row["account_id"],
        to_account_id=row["to_account_id"],
        reconciled=row["reconciled"],
        categorization_source=row["categorization_source"],
        confidence=None if row["confidence"] is None else float(row["confidence"]),
        rule_id=row["rule_id"],
        import_batch_id=row["import_batch_id"],
        receipts=row["receipts"],
        expires_at=row["expires_at"],
        original_amount=None if row["original_amount"] is None else str(row["original_amount"]),
        original_currency=row["original_currency"],
        rate=None if row["rate"] is None else str(row["rate"]),
        recorded_at=row["recorded_at"],
        updated_at=row["updated_at"],
    )


RANK = "ts_rank(search, to_tsquery('simple', %s))::float8"


def list_transactions(
    store: ReadStore,
    household_id: UUID,
    filters: TransactionFilter,
    limit: int = 50,
    cursor: str | None = None,
    viewer: UUID | None = None,
    order: str = "date",
) -> TransactionPage:
    """Newest first (by date, then by time recorded), or with ``order="relevance"`` the best
    matches of the search first (ties newest first); ``cursor`` continues after the previous
    page."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}")
    ranked = order == "relevance"
    if ranked and not filters.text:
        raise InvalidInputError("order=relevance ranks a search: give q")
    where, params = _where(household_id, filters, viewer)
    keys, rank_params = ["date", "recorded_at", "transaction_id"], []
    if ranked:
        keys, rank_params = [RANK, *keys], [prefix_tsquery(search_terms(filters.text or ""))]
    if cursor is not None:
        where += f" AND ({', '.join(keys)}) < ({', '.join(['%s'] * len(keys))})"
        params.extend([*rank_params, *decode_cursor(cursor, ranked)])
    select = f"*, {RANK} AS rank" if ranked else "*"
    with store.cursor() as curs:
        curs.execute(
            f"SELECT {select} FROM {S}.transactions t WHERE {where}"  # noqa: S608 - clauses are constants
            f" ORDER BY {', '.join(f'{key} DESC' for key in keys)} LIMIT %s",
            (*rank_params, *params, *rank_params, limit + 1),
        )
        rows = curs.fetchall()
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return TransactionPage(items=[_view(row) for row in rows[:limit]], next_cursor=next_cursor)


def rows_by_ids(
    store: ReadStore, household_id: UUID, ids: list[UUID], viewer: UUID | None
) -> list[TransactionView]:
    """The transactions of these ids in this order (those the viewer may see)."""
    where, params = _where(household_id, TransactionFilter(), viewer)
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {S}.transactions t WHERE {where} AND transaction_id = ANY(%s)",  # noqa: S608
            (*params, ids),
        )
        found = {row["transaction_id"]: row for row in curs.fetchall()}
    return [_view(found[i]) for i in ids if i in found]


def get_transaction(
    store: ReadStore, household_id: UUID, transaction_id: UUID, viewer: UUID | None = None
) -> TransactionView:
    where, params = _where(household_id, TransactionFilter(), viewer)
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {S}.transactions t WHERE {where} AND transaction_id = %s",  # noqa: S608
            (*params, transaction_id),
        )
        row = curs.fetchone()
    if row is None:
        raise NotFoundError(f"no transaction {transaction_id}")
    return _view(row)


def unreconciled_until(
    store: ReadStore, household_id: UUID, account_id: UUID, closing_date: dt.date, viewer: UUID | None
) -> list[UUID]:
    """Posted transactions of the account, dated up to the closing date, not yet confirmed."""
    where, params = _where(
        household_id, TransactionFilter(account_id=account_id, date_to=closing_date), viewer
    )
    with store.cursor() as curs:
        curs.execute(
            f"SELECT transaction_id FROM {S}.transactions t WHERE {where}"  # noqa: S608 - clauses are constants
            " AND status = 'posted' AND NOT reconciled ORDER BY date, recorded_at",
            params,
        )
        return [row["transaction_id"] for row in curs.fetchall()]


def reconciliation_candidates(
    store: ReadStore,
    household_id: UUID,
    account_id: UUID,
    closing_date: dt.date,
    difference: Decimal,
    viewer: UUID | None,
) -> list[TransactionView]:
    """What may explain a difference: pending or disputed entries up to the closing date,
    entries of the following week, and entries of exactly the difference."""
    where, params = _where(household_id, TransactionFilter(account_id=account_id), viewer)
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {S}.transactions t WHERE {where} AND NOT reconciled"  # noqa: S608
            " AND status <> 'cancelled' AND ("
            " (status IN ('pending', 'disputed') AND date <= %s)"
            " OR (date > %s AND date <= %s + 7) OR amount = %s)"
            " ORDER BY date, recorded_at LIMIT 20",
            (*params, closing_date, closing_date, closing_date, abs(difference)),
        )
        return [_view(row) for row in curs.fetchall()]


def receipts(
    store: ReadStore, household_id: UUID, transaction_id: UUID, viewer: UUID | None = None
) -> list[ReceiptView]:
    """The receipts of a transaction the viewer can see (404 otherwise)."""
    get_transaction(store, household_id, transaction_id, viewer)
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {S}.receipts WHERE transaction_id = %s ORDER BY attached_at, sha256",  # noqa: S608
            (transaction_id,),
        )
        return [
            ReceiptView(
                sha256=r["sha256"],
                name=r["name"],
                content_type=r["content_type"],
                size=r["size"],
                attached_at=r["attached_at"],
            )
            for r in curs.fetchall()
        ]


def count_transactions(
    store: ReadStore, household_id: UUID, filters: TransactionFilter, viewer: UUID | None = None
) -> int:
    where, params = _where(household_id, filters, viewer)
    with store.cursor() as curs:
        curs.execute(f"SELECT count(*) AS n FROM {S}.transactions t WHERE {where}", params)  # noqa: S608
        row = curs.fetchone()
    return int(row["n"]) if row else 0


def export_transactions(
    store: ReadStore, household_id: UUID, filters: TransactionFilter, viewer: UUID | None = None
) -> Iterator[TransactionView]:
    """Every matching transaction, oldest first, through a server-side cursor (bounded memory)."""
    where, params = _where(household_id, filters, viewer)
    with store.pool.connection() as conn, conn.transaction(), conn.cursor(name="export") as curs:
        curs.itersize = 1000
        curs.execute(
            f"SELECT * FROM {S}.transactions t WHERE {where}"  # noqa: S608 - clauses are constants
            " ORDER BY date, recorded_at, transaction_id",
            params,
        )
        for row in curs:
            yield _view(row)


def expired_holds(store: ReadStore, now: dt.datetime, limit: int = 1000) -> list[tuple[UUID, UUID]]:
    """(household, transaction) of pending transactions whose hold ran out, oldest first."""
    with store.cursor() as curs:
        curs.execute(
            f"SELECT household_id, transaction_id FROM {S}.transactions"  # noqa: S608
            " WHERE status = 'pending' AND expires_at <= %s ORDER BY expires_at LIMIT %s",
            (now, limit),
        )
        return [(r["household_id"], r["transaction_id"]) for r in curs.fetchall()]
