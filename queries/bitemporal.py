"""Bi-temporal questions, answered from the event log itself: an account's balance at an
effective date, and spending by category over an effective period, as the books stood at
a recorded time.

Two times: the effective date is the transaction's own ``date`` (when the business fact
happened); the recorded time is the event's ``recorded_at`` (when the database stored it).
``known_at`` keeps only the events recorded at or before it, so a backdated entry or a late
import recorded after ``known_at`` is not seen, and an edit recorded after it is not applied:
what we knew then. The figures follow the read models' rules (cancelled entries left out,
pending holds counted) so that ``known_at`` = now gives what the accounts API gives.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.utils import get_topic

from ledger.account import Account
from ledger.errors import InvalidInputError, NotFoundError
from ledger.money import Money
from ledger.posting import UNCATEGORISED, EntryKind
from ledger.transaction import Status, Transaction
from projections.base import notification
from queries.audit import COLUMNS, EVENTS, MAPPER
from queries.db import ReadStore

RECORDED = get_topic(Transaction.Recorded)  # type: ignore[attr-defined]
# Transactions whose first event names the household; the CASE keeps other events' states
# (which may not be JSON text) away from the cast.
HOUSEHOLD_TRANSACTIONS = f"""
SELECT {COLUMNS} FROM {EVENTS}
WHERE (%(known_at)s::timestamptz IS NULL OR recorded_at <= %(known_at)s)
  AND originator_id IN (
    SELECT originator_id FROM {EVENTS}
    WHERE originator_version = 1 AND topic = %(topic)s
      AND CASE WHEN topic = %(topic)s
          THEN convert_from(state, 'UTF8')::jsonb -> 'household_id' ->> '_data_' END = %(household)s)
ORDER BY originator_id, originator_version
"""  # noqa: S608 - constant table and column names, values bound


class KnownBalance(msgspec.Struct, kw_only=True):
    account_id: UUID
    household_id: UUID
    currency: str
    on: dt.date | None  # effective date: postings dated on or before it (all when absent)
    known_at: dt.datetime | None  # recorded time: events stored at or before it (all when absent)
    balance: str
    postings: int  # how many postings make the figure
    last_position: int  # the latest event of the account or its transactions taken into account


class SpendingRow(msgspec.Struct, kw_only=True):
    category: str
    currency: str
    amount: str
    count: int


class KnownSpending(msgspec.Struct, kw_only=True):
    household_id: UUID
    date_from: dt.date | None  # open when None
    date_to: dt.date | None
    known_at: dt.datetime | None
    rows: list[SpendingRow]  # largest first within each currency; amounts are not converted
    totals: dict[str, str]  # currency -> total spent
    last_position: int


def check_known_at(known_at: dt.datetime | None) -> None:
    if known_at is not None and known_at.utcoffset() is None:
        raise InvalidInputError("known_at needs a time zone, e.g. 2026-11-02T10:00:00Z")


def _decode(row: dict[str, Any]) -> Any:
    return MAPPER.to_domain_event(
        notification((row["notification_id"], row["originator_id"], row["originator_version"],
                      row["topic"], row["state"]))
    )  # fmt: skip


def _fold(rows: list[dict[str, Any]]) -> Iterator[Any]:
    """The aggregates the rows (ordered by aggregate, then version) leave."""
    aggregate: Any = None
    for row in rows:
        if aggregate is not None and aggregate.id != row["originator_id"]:
            yield aggregate
            aggregate = None
        aggregate = _decode(row).mutate(aggregate)
    if aggregate is not None:
        yield aggregate


def _account(reads: ReadStore, account_id: UUID, known_at: dt.datetime | None) -> tuple[Account, int]:
    with reads.cursor() as curs:
        curs.execute(
            f"SELECT {COLUMNS} FROM {EVENTS} WHERE originator_id = %s"  # noqa: S608
            " AND (%s::timestamptz IS NULL OR recorded_at <= %s) ORDER BY originator_version",
            (account_id, known_at, known_at),
        )
        rows = curs.fetchall()
    found = next(_fold(rows), None)
    if not isinstance(found, Account):
        raise NotFoundError(f"no account {account_id} in the books as they stood then")
    return found, rows[-1]["notification_id"]


def _transactions(
    reads: ReadStore, household_id: UUID, known_at: dt.datetime | None
) -> tuple[list[Transaction], int]:
    """The household's transactions as the events recorded by ``known_at`` leave them, and
    the latest position among those events."""
    with reads.cursor() as curs:
        curs.execute(
            HOUSEHOLD_TRANSACTIONS,
            {"known_at": known_at, "topic": RECORDED, "household": household_id.hex},
        )
        rows = curs.fetchall()
    return list(_fold(rows)), max((r["notification_id"] for r in rows), default=0)


def balance(
    reads: ReadStore, account_id: UUID, on: dt.date | None, known_at: dt.datetime | None
) -> KnownBalance:
    """The account's balance from the postings dated on or before ``on``, as the events
    recorded at or before ``known_at`` leave them."""
    check_known_at(known_at)
    account, account_position = _account(reads, account_id, known_at)
    transactions, position = _transactions(reads, account.household_id, known_at)
    own = str(account_id)
    total, count = Decimal(0), 0
    for transaction in transactions:
        if transaction.status is Status.CANCELLED or (on is not None and transaction.date > on):
            continue
        for posting in transaction.postings:
            if posting.account == own:
                total += posting.amount.amount
                count += 1
    return KnownBalance(
        account_id=account_id, household_id=account.household_id, currency=account.currency, on=on,
        known_at=known_at, balance=str(Money.of(total, account.currency).amount), postings=count,
        last_position=max(account_position, position),
    )  # fmt: skip


def check_household(reads: ReadStore, household_id: UUID, known_at: dt.datetime | None) -> None:
    with reads.cursor() as curs:
        curs.execute(
            f"SELECT 1 FROM {EVENTS} WHERE originator_id = %s"  # noqa: S608
            " AND (%s::timestamptz IS NULL OR recorded_at <= %s) LIMIT 1",
            (household_id, known_at, known_at),
        )
        if curs.fetchone() is None:
            raise NotFoundError(f"no household {household_id} in the books as they stood then")


def within(on: dt.date, first: dt.date | None, last: dt.date | None) -> bool:
    return (first is None or first <= on) and (last is None or on <= last)


def add(sums: dict[tuple[str, str], list[Any]], expense: Transaction) -> None:
    paid = expense.household_account_postings()[0][1].amount
    cell = sums[(expense.category or UNCATEGORISED, paid.currency)]
    cell[0] += abs(paid.amount)
    cell[1] += 1


def spending(
    reads: ReadStore,
    household_id: UUID,
    date_from: dt.date | None,
    date_to: dt.date | None,
    known_at: dt.datetime | None,
) -> KnownSpending:
    """Expenses dated from ``date_from`` to ``date_to`` (both included, either open when
    None) by category and
    currency, as the events recorded at or before ``known_at`` leave them."""
    check_known_at(known_at)
    if date_from and date_to and date_from > date_to:
        raise InvalidInputError("date_from is after date_to")
    check_household(reads, household_id, known_at)
    transactions, position = _transactions(reads, household_id, known_at)
    sums: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for t in transactions:
        if (
            t.kind is EntryKind.EXPENSE
            and t.status is not Status.CANCELLED
            and within(t.date, date_from, date_to)
        ):
            add(sums, t)
    ordered = sorted(sums.items(), key=lambda kv: (kv[0][1], -kv[1][0], kv[0][0]))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (_, currency), (amount, _) in ordered:
        totals[currency] += amount
    return KnownSpending(
        household_id=household_id, date_from=date_from, date_to=date_to, known_at=known_at,
        rows=[SpendingRow(category=c, currency=cur, amount=str(v[0]), count=v[1]) for (c, cur), v in ordered],
        totals={c: str(a) for c, a in sorted(totals.items())}, last_position=position,
    )  # fmt: skip
