"""Text input: control characters and lone surrogates never reach an event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import uuid4

import pytest

from ledger.account import Account, AccountKind
from ledger.errors import InvalidInputError
from ledger.household import Household
from ledger.money import Money
from ledger.posting import EntryKind, entry_postings
from ledger.transaction import Transaction
from ledger.user import User, normalise_email

BAD = ["nul\x00byte", "bell\x07", "escape\x1b[31m", "lone \ud800 surrogate", "del\x7f"]


@pytest.mark.parametrize("text", BAD)
def test_names_refuse_control_characters(text: str) -> None:
    with pytest.raises(InvalidInputError):
        Account.open(uuid4(), text, AccountKind.ASSET, "EUR")
    with pytest.raises(InvalidInputError):
        Household.create(text, uuid4())
    with pytest.raises(InvalidInputError):
        User.register("a@example.org", text, "hash")
    with pytest.raises(InvalidInputError):
        normalise_email(f"a{text}@example.org")


@pytest.mark.parametrize("text", BAD)
def test_transaction_texts_refuse_control_characters(text: str) -> None:
    account = uuid4()
    postings = entry_postings(EntryKind.EXPENSE, Money.of(Decimal("1"), "EUR"), account)
    for fields in ({"merchant": text}, {"notes": text}, {"tags": [text]}, {"category": text}):
        with pytest.raises(InvalidInputError):
            Transaction.record(uuid4(), EntryKind.EXPENSE, postings, dt.date(2026, 1, 1), "ok", **fields)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        Transaction.record(uuid4(), EntryKind.EXPENSE, postings, dt.date(2026, 1, 1), text)


def test_notes_may_have_lines_and_tabs_and_any_script() -> None:
    postings = entry_postings(EntryKind.EXPENSE, Money.of(Decimal("1"), "EUR"), uuid4())
    notes = "first line\n\tsecond — ünïcödé 日本 🙂"
    transaction = Transaction.record(
        uuid4(), EntryKind.EXPENSE, postings, dt.date(2026, 1, 1), "ok", notes=notes
    )
    assert transaction.notes == notes
