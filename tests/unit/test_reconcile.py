"""A reconciled transaction is confirmed by the bank: no cancel, dispute or new date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import uuid4

import pytest

from ledger.errors import IllegalTransitionError
from ledger.money import Money
from ledger.posting import EntryKind, entry_postings
from ledger.transaction import Status, Transaction


def transaction(status: Status = Status.POSTED) -> Transaction:
    postings = entry_postings(EntryKind.EXPENSE, Money.of(Decimal("5"), "EUR"), uuid4())
    return Transaction.record(uuid4(), EntryKind.EXPENSE, postings, dt.date(2026, 1, 1), "x", status=status)


def test_only_a_posted_unreconciled_transaction_is_reconciled() -> None:
    pending = transaction(Status.PENDING)
    with pytest.raises(IllegalTransitionError):
        pending.reconcile(uuid4())
    posted = transaction()
    statement = uuid4()
    posted.reconcile(statement)
    assert posted.reconciled_by == statement
    with pytest.raises(IllegalTransitionError):
        posted.reconcile(uuid4())


def test_a_reconciled_transaction_keeps_its_date_and_status_but_takes_notes() -> None:
    posted = transaction()
    posted.reconcile(uuid4())
    version = posted.version
    for change in (
        lambda: posted.cancel("x"),
        lambda: posted.dispute("x"),
        lambda: posted.edit({"date": dt.date(2026, 2, 1)}),
    ):
        with pytest.raises(IllegalTransitionError):
            change()
    assert posted.version == version
    posted.edit({"notes": "confirmed by the bank"})
    assert posted.notes == "confirmed by the bank"
