"""The transaction's holds, settlements, voids and expiries, foreign amounts, receipts and
import provenance: every refused command changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from ledger.errors import DomainError, IllegalTransitionError, InvalidInputError
from ledger.money import Money, convert, parse_rate
from ledger.posting import EntryKind, Posting, entry_postings
from ledger.transaction import Status, Transaction

ACCOUNT, OTHER = uuid.UUID(int=1), uuid.UUID(int=2)
UNTIL = dt.datetime(2026, 5, 8, tzinfo=dt.UTC)


def held(amount: str = "50.00") -> Transaction:
    money = Money.of(Decimal(amount), "EUR")
    t = Transaction.record(
        uuid.UUID(int=9), EntryKind.EXPENSE, entry_postings(EntryKind.EXPENSE, money, ACCOUNT),
        dt.date(2026, 5, 1), "Dinner", status=Status.PENDING,
    )  # fmt: skip
    t.hold(UNTIL)
    return t


def unchanged(t: Transaction, change: object) -> None:
    before = (t.version, t.status, t.postings, t.date)
    with pytest.raises(DomainError):
        change()  # type: ignore[operator]
    assert (t.version, t.status, t.postings, t.date) == before


def test_a_hold_settles_once_with_its_final_amount() -> None:
    t = held()
    final = entry_postings(EntryKind.EXPENSE, Money.of(Decimal("58.00"), "EUR"), ACCOUNT)
    t.settle(final, dt.date(2026, 5, 3))
    assert (t.status, t.postings, str(t.date)) == ("posted", final, "2026-05-03")
    unchanged(t, lambda: t.settle(final, dt.date(2026, 5, 4)))
    unchanged(t, lambda: t.void("late"))
    unchanged(t, lambda: t.expire(UNTIL + dt.timedelta(days=1)))


def test_a_void_and_an_expiry_only_for_pending_holds() -> None:
    t = held()
    unchanged(t, lambda: t.expire(UNTIL - dt.timedelta(seconds=1)))  # not yet
    t.expire(UNTIL)
    assert t.status == "cancelled"
    v = held()
    v.void("released")
    assert v.status == "cancelled"
    unchanged(v, lambda: v.void("again"))
    unbalanced = (Posting(str(ACCOUNT), Money.of(Decimal("-1"), "EUR")),)
    w = held()
    unchanged(w, lambda: w.settle(unbalanced, dt.date(2026, 5, 2)))


def test_an_import_settlement_can_be_reverted_only_by_that_import() -> None:
    t = held()
    batch = uuid.uuid4()
    t.settle(
        entry_postings(EntryKind.EXPENSE, Money.of(Decimal("61.00"), "EUR"), ACCOUNT),
        dt.date(2026, 5, 2),
        batch,
    )
    unchanged(t, lambda: t.unsettle(uuid.uuid4()))
    settled = t.unsettle(batch)
    assert settled[0].amount.amount == Decimal("-61.00")
    assert (t.status, t.postings[0].amount.amount, str(t.date)) == (
        "pending",
        Decimal("-50.00"),
        "2026-05-01",
    )


def test_foreign_amounts_and_rates() -> None:
    assert convert(Money.of(Decimal("100.00"), "USD"), Decimal("0.92375"), "EUR").amount == Decimal("92.38")
    assert convert(Money.of(Decimal("1"), "EUR"), Decimal("163.5"), "JPY").amount == Decimal(
        "164"
    )  # half-even
    for bad in ("0", "-1", "abc", "1e3", "0.00000000001", "1000001", "NaN"):
        with pytest.raises(InvalidInputError):
            parse_rate(bad)
    t = held()
    unchanged(t, lambda: t.paid_in(Money.of(Decimal("10"), "EUR"), Decimal("1")))  # its own currency
    t.paid_in(Money.of(Decimal("54.00"), "USD"), Decimal("0.9259"))
    assert (str(t.original_amount), t.rate) == ("54.00 USD", Decimal("0.9259"))


def test_receipts_are_named_by_their_hash_and_attached_once() -> None:
    t = held()
    sha = "0f" * 32
    unchanged(t, lambda: t.attach_receipt("not-a-hash", "x.pdf", "application/pdf", 10))
    t.attach_receipt(sha, "x.pdf", "application/pdf", 10)
    unchanged(t, lambda: t.attach_receipt(sha, "again.pdf", "application/pdf", 10))
    unchanged(t, lambda: t.detach_receipt("1f" * 32))
    t.detach_receipt(sha)
    assert t.receipts == {}


def test_a_transfer_match_needs_the_opposite_amount_in_another_account() -> None:
    money = Money.of(Decimal("100.00"), "EUR")
    t = Transaction.record(
        uuid.UUID(int=9), EntryKind.EXPENSE, entry_postings(EntryKind.EXPENSE, money, ACCOUNT),
        dt.date(2026, 5, 1), "To savings",
    )  # fmt: skip
    batch = uuid.uuid4()
    unchanged(t, lambda: t.match_transfer(batch, OTHER, Posting(str(OTHER), -money)))  # same sign
    unchanged(t, lambda: t.match_transfer(batch, ACCOUNT, Posting(str(ACCOUNT), money)))  # same account
    t.match_transfer(batch, OTHER, Posting(str(OTHER), money))
    assert (t.kind, t.category) == ("transfer", None)
    unchanged(t, lambda: t.match_transfer(batch, OTHER, Posting(str(OTHER), money)))
    with pytest.raises(IllegalTransitionError):
        t.unmatch_transfer(uuid.uuid4())
    t.unmatch_transfer(batch)
    assert (t.kind, [p.account for p in t.postings]) == ("expense", [str(ACCOUNT), "expenses:uncategorised"])
