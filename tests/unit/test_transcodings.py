"""Stored form of events: exact amounts as strings, ISO dates, stable topics, lossless round trips."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import JSONTranscoder

from ledger.money import Money
from ledger.posting import EntryKind, Posting
from ledger.transaction import Status
from ledger.transcodings import DateAsISO, MoneyAsDict, PostingAsDict, event_mapper, register_all
from tests.unit.support import eur, open_account, record, replay

ACCOUNT = UUID("11111111-1111-4111-8111-111111111111")
OTHER = UUID("22222222-2222-4222-8222-222222222222")


@pytest.fixture
def transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    register_all(transcoder)
    return transcoder


def stored_state(event: Any) -> dict[str, Any]:
    """The raw JSON an event is stored as (no decoding of our transcodings)."""
    data: dict[str, Any] = json.loads(event_mapper().to_stored_event(event).state)
    return data


class TestTranscodings:
    @pytest.mark.parametrize(
        "money",
        [
            Money.of(Decimal("12.30"), "EUR"),
            Money.of(Decimal("-0.01"), "USD"),
            Money.of(Decimal("1500"), "JPY"),
            Money.of(Decimal("999999999999999"), "KWD"),
            Money.zero("EUR"),
        ],
    )
    def test_money_round_trips_exactly(self, transcoder: JSONTranscoder, money: Money) -> None:
        decoded = transcoder.decode(transcoder.encode(money))
        assert decoded == money
        assert str(decoded.amount) == str(money.amount)  # same exponent, not just same value

    def test_money_is_stored_as_a_decimal_string(self) -> None:
        assert MoneyAsDict().encode(Money.of(Decimal("12.3"), "EUR")) == {
            "amount": "12.30",
            "currency": "EUR",
        }

    def test_posting_round_trips_exactly(self, transcoder: JSONTranscoder) -> None:
        posting = Posting("expenses:food", eur("0.10"))
        decoded = transcoder.decode(transcoder.encode(posting))
        assert decoded == posting
        assert str(decoded.amount.amount) == "0.10"

    def test_posting_is_stored_flat_with_a_string_amount(self) -> None:
        encoded = PostingAsDict().encode(Posting(str(ACCOUNT), eur("-12.34")))
        assert encoded == {"account": str(ACCOUNT), "amount": "-12.34", "currency": "EUR"}

    def test_date_is_stored_as_iso(self, transcoder: JSONTranscoder) -> None:
        assert DateAsISO().encode(date(2024, 2, 29)) == "2024-02-29"
        decoded = transcoder.decode(transcoder.encode(date(2024, 2, 29)))
        assert decoded == date(2024, 2, 29)
        assert type(decoded) is date

    def test_datetimes_are_not_mistaken_for_dates(self, transcoder: JSONTranscoder) -> None:
        moment = datetime(2024, 2, 29, 13, 45, 1, 123456, tzinfo=UTC)
        decoded = transcoder.decode(transcoder.encode(moment))
        assert decoded == moment
        assert type(decoded) is datetime

    def test_nested_values_round_trip(self, transcoder: JSONTranscoder) -> None:
        value = {
            "id": uuid4(),
            "amount": Decimal("0.30"),
            "postings": [Posting("a", eur("1")), Posting("b", eur("-1"))],
            "on": date(2024, 1, 1),
        }
        assert transcoder.decode(transcoder.encode(value)) == value


class TestStoredEvents:
    def test_amounts_are_never_stored_as_json_numbers(self) -> None:
        account = open_account(minimum_balance=Decimal("-10"))
        account.post(uuid4(), eur("0.10"))
        opened, applied = account.collect_events()
        assert stored_state(opened)["minimum_balance"] == {"_type_": "decimal_str", "_data_": "-10.00"}
        assert stored_state(applied)["amount"] == {"_type_": "decimal_str", "_data_": "0.10"}

    def test_recorded_event_is_stored_with_readable_values(self) -> None:
        transaction = record(EntryKind.EXPENSE, "12.34", account_id=ACCOUNT, category="food", tags=["x"])
        (recorded,) = transaction.collect_events()
        data = stored_state(recorded)
        assert data["kind"] == "expense"
        assert data["status"] == "posted"
        assert data["date"] == {"_type_": "date_iso", "_data_": "2024-03-15"}
        assert data["postings"] == [
            {"_type_": "posting", "_data_": {"account": str(ACCOUNT), "amount": "-12.34", "currency": "EUR"}},
            {
                "_type_": "posting",
                "_data_": {"account": "expenses:food", "amount": "12.34", "currency": "EUR"},
            },
        ]
        assert data["tags"] == ["x"]

    def test_event_topics_are_stable(self) -> None:
        # Topics are part of the stored data: renaming a module or an event class breaks replay.
        account = open_account()
        account.post(uuid4(), eur("1"))
        account.reverse(uuid4(), eur("1"))
        account.rename("Other")
        account.close()
        transaction = record(status=Status.PENDING)
        transaction.post()
        transaction.edit({"notes": "n"})
        transaction.recategorise("food")
        transaction.dispute("d")
        transaction.cancel("c")
        mapper = event_mapper()
        topics = [
            mapper.to_stored_event(e).topic
            for e in [*account.collect_events(), *transaction.collect_events()]
        ]
        assert topics == [
            "ledger.account:Account.Opened",
            "ledger.account:Account.PostingApplied",
            "ledger.account:Account.PostingReversed",
            "ledger.account:Account.Renamed",
            "ledger.account:Account.Closed",
            "ledger.transaction:Transaction.Recorded",
            "ledger.transaction:Transaction.Posted",
            "ledger.transaction:Transaction.Edited",
            "ledger.transaction:Transaction.Recategorised",
            "ledger.transaction:Transaction.Disputed",
            "ledger.transaction:Transaction.Cancelled",
        ]

    def test_decoded_events_equal_the_originals(self) -> None:
        transaction = record(EntryKind.TRANSFER, "3.50", account_id=ACCOUNT, to_account_id=OTHER, tags=["a"])
        transaction.edit({"tags": ["c", "b"], "date": date(2024, 1, 2)})
        transaction.recategorise("moves")
        mapper = event_mapper()
        for event in transaction.collect_events():
            stored = mapper.to_stored_event(event)
            assert stored.originator_id == transaction.id
            decoded = mapper.to_domain_event(stored)
            assert type(decoded) is type(event)
            assert decoded.originator_version == event.originator_version
            assert decoded.timestamp == event.timestamp
            assert {k: v for k, v in vars(decoded).items() if k != "postings"} == {
                k: v for k, v in vars(event).items() if k != "postings"
            }
            if "postings" in vars(event):
                assert list(decoded.postings) == list(event.postings)

    def test_stored_form_is_deterministic(self) -> None:
        account = open_account()
        (opened,) = account.collect_events()
        assert event_mapper().to_stored_event(opened) == event_mapper().to_stored_event(opened)

    def test_an_account_replays_from_stored_events(self) -> None:
        account = open_account(currency="JPY", minimum_balance=Decimal("-500"))
        account.post(uuid4(), Money.of(Decimal("-500"), "JPY"))
        replayed = replay(
            event_mapper().to_domain_event(event_mapper().to_stored_event(e))
            for e in account.collect_events()
        )
        assert replayed == account
        assert replayed.balance == Decimal("-500")
        assert replayed.currency == "JPY"
