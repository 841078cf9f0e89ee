"""Who owes whom in a household: balances per member and currency, and the shared expenses.

A shared expense counts while its transaction is not cancelled (cancelled, voided, expired
and import-reverted transactions all read as ``cancelled``); a settle-up counts unless its
transfer was cancelled. Balance = paid - owed + settled out - settled in.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from ledger.money import MINOR_UNITS
from ledger.settlement import who_owes_whom
from queries.db import DIRECTORY_SCHEMA, SETTLEMENT_SCHEMA, TRANSACTIONS_SCHEMA, ReadStore
from queries.transactions import HIDDEN_ACCOUNT

S, T = SETTLEMENT_SCHEMA, TRANSACTIONS_SCHEMA
KINDS = ("paid", "owed", "settled_out", "settled_in")
TOTALS = (
    "SELECT member, currency, kind, sum(amount) AS total FROM ("  # noqa: S608
    f" SELECT s.paid_by AS member, s.currency, 'paid' AS kind, s.amount FROM {S}.shares s"
    f"  JOIN {T}.transactions t USING (household_id, transaction_id)"
    "  WHERE s.household_id = %(h)s AND t.status <> 'cancelled'"
    " UNION ALL"
    f" SELECT p.member_id, p.currency, 'owed', p.amount FROM {S}.share_parts p"
    f"  JOIN {T}.transactions t USING (household_id, transaction_id)"
    "  WHERE p.household_id = %(h)s AND t.status <> 'cancelled'"
    " UNION ALL"
    f" SELECT u.from_member, u.currency, 'settled_out', u.amount FROM {S}.settle_ups u"
    f"  LEFT JOIN {T}.transactions t USING (household_id, transaction_id)"
    "  WHERE u.household_id = %(h)s AND t.status IS DISTINCT FROM 'cancelled'"
    " UNION ALL"
    f" SELECT u.to_member, u.currency, 'settled_in', u.amount FROM {S}.settle_ups u"
    f"  LEFT JOIN {T}.transactions t USING (household_id, transaction_id)"
    "  WHERE u.household_id = %(h)s AND t.status IS DISTINCT FROM 'cancelled'"
    ") x GROUP BY member, currency, kind"
)


class MemberBalance(msgspec.Struct, kw_only=True):
    member_id: UUID
    display_name: str | None
    paid: str
    owed: str
    settled_out: str
    settled_in: str
    balance: str  # positive: the others owe this member; negative: this member owes


class Transfer(msgspec.Struct, kw_only=True):
    from_member: UUID
    from_name: str | None
    to_member: UUID
    to_name: str | None
    amount: str


class CurrencySettlement(msgspec.Struct, kw_only=True):
    currency: str
    members: list[MemberBalance]
    transfers: list[Transfer]  # what settles every balance of the currency


class Income(msgspec.Struct, kw_only=True):
    member_id: UUID
    display_name: str | None
    amount: str
    currency: str


class SettlementView(msgspec.Struct, kw_only=True):
    currencies: list[CurrencySettlement]
    incomes: list[Income]


class SharePart(msgspec.Struct, kw_only=True):
    member_id: UUID
    amount: str


class SharedExpense(msgspec.Struct, kw_only=True):
    transaction_id: UUID
    date: dt.date | None  # date and description: only if you may see the transaction
    description: str | None
    status: str | None
    counts: bool  # false once the transaction is cancelled, voided, expired or reverted
    paid_by: UUID
    amount: str
    currency: str
    method: str
    shares: list[SharePart]
    shared_at: dt.datetime


def money(value: Decimal, currency: str) -> str:
    return str(value.quantize(Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))))


def names(curs: Any, members: set[UUID]) -> dict[UUID, str]:
    curs.execute(
        f"SELECT user_id, display_name FROM {DIRECTORY_SCHEMA}.users WHERE user_id = ANY(%s)",  # noqa: S608
        (list(members),),
    )
    return {row["user_id"]: row["display_name"] for row in curs.fetchall()}


def settlement(store: ReadStore, household_id: UUID) -> SettlementView:
    """Per currency: each member's paid, owed, settled and net balance, and the transfers."""
    totals: dict[str, dict[UUID, dict[str, Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: dict.fromkeys(KINDS, Decimal(0)))
    )
    with store.cursor() as curs:
        curs.execute(TOTALS, {"h": household_id})
        for row in curs.fetchall():
            totals[row["currency"]][row["member"]][row["kind"]] = Decimal(row["total"])
        curs.execute(
            f"SELECT member_id, amount, currency FROM {S}.incomes WHERE household_id = %s",  # noqa: S608
            (household_id,),
        )
        incomes = curs.fetchall()
        known = names(curs, {m for c in totals.values() for m in c} | {r["member_id"] for r in incomes})
    return SettlementView(
        currencies=[one_currency(c, totals[c], known) for c in sorted(totals)],
        incomes=[
            Income(
                member_id=r["member_id"],
                display_name=known.get(r["member_id"]),
                amount=money(Decimal(r["amount"]), r["currency"]),
                currency=r["currency"],
            )
            for r in sorted(incomes, key=lambda r: r["member_id"])
        ],
    )


def one_currency(
    currency: str, members: dict[UUID, dict[str, Decimal]], known: dict[UUID, str]
) -> CurrencySettlement:
    balances = {m: t["paid"] - t["owed"] + t["settled_out"] - t["settled_in"] for m, t in members.items()}
    return CurrencySettlement(
        currency=currency,
        members=[
            MemberBalance(
                member_id=m,
                display_name=known.get(m),
                balance=money(balances[m], currency),
                **{kind: money(members[m][kind], currency) for kind in KINDS},
            )
            for m in sorted(members)
        ],
        transfers=[
            Transfer(
                from_member=debtor,
                from_name=known.get(debtor),
                to_member=creditor,
                to_name=known.get(creditor),
                amount=money(amount, currency),
            )
            for debtor, creditor, amount in who_owes_whom(balances)
        ],
    )


def shared_expenses(store: ReadStore, household_id: UUID, viewer: UUID | None) -> list[SharedExpense]:
    """The household's shared expenses, newest first, with each member's share."""
    with store.cursor() as curs:
        curs.execute(
            f"SELECT s.*, t.status, CASE WHEN {HIDDEN_ACCOUNT} THEN t.date END AS date,"  # noqa: S608
            f" CASE WHEN {HIDDEN_ACCOUNT} THEN t.description END AS description"
            f" FROM {S}.shares s LEFT JOIN {T}.transactions t USING (household_id, transaction_id)"
            " WHERE s.household_id = %s ORDER BY s.shared_at DESC, s.transaction_id",
            (viewer, str(viewer), viewer, str(viewer), household_id),
        )
        rows = curs.fetchall()
        curs.execute(
            f"SELECT transaction_id, member_id, amount, currency FROM {S}.share_parts"  # noqa: S608
            " WHERE household_id = %s ORDER BY transaction_id, member_id",
            (household_id,),
        )
        parts: dict[UUID, list[SharePart]] = defaultdict(list)
        for p in curs.fetchall():
            parts[p["transaction_id"]].append(
                SharePart(member_id=p["member_id"], amount=money(p["amount"], p["currency"]))
            )
    return [
        SharedExpense(
            transaction_id=r["transaction_id"],
            date=r["date"],
            description=r["description"],
            status=r["status"],
            counts=r["status"] is not None and r["status"] != "cancelled",
            paid_by=r["paid_by"],
            amount=money(r["amount"], r["currency"]),
            currency=r["currency"],
            method=r["method"],
            shares=parts[r["transaction_id"]],
            shared_at=r["shared_at"],
        )
        for r in rows
    ]
