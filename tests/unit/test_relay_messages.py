"""Integration messages: the envelope, plain JSON data, and no personal data."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

from ledger.household import Household
from ledger.money import Money
from ledger.posting import EntryKind, entry_postings
from ledger.transaction import Transaction
from ledger.user import User
from projections.base import correlation_of
from projections.relay.consumer import parse
from projections.relay.messages import encode, event_id, message

HOUSEHOLD = uuid.uuid4()


def test_a_transaction_event_becomes_a_typed_message_with_plain_money() -> None:
    account = uuid.uuid4()
    postings = entry_postings(EntryKind.EXPENSE, Money.of(Decimal("12.34"), "EUR"), account, category="food")
    transaction = Transaction.record(HOUSEHOLD, EntryKind.EXPENSE, postings, dt.date(2026, 11, 3), "Lunch")
    (recorded,) = transaction.collect_events()
    routing_key, body = message(42, "ledger.transaction:Transaction.Recorded", recorded)
    assert routing_key == "Transaction.Recorded"
    assert body["id"] == str(event_id(transaction.id, 1)) == str(event_id(transaction.id, 1))
    assert (body["aggregate_id"], body["aggregate_version"], body["position"]) == (str(transaction.id), 1, 42)
    assert body["household_id"] == str(HOUSEHOLD)
    assert body["data"]["date"] == "2026-11-03" and body["data"]["kind"] == "expense"
    assert {"account": str(account), "amount": {"amount": "-12.34", "currency": "EUR"}} in body["data"][
        "postings"
    ]
    assert parse(encode(body)) == json.loads(encode(body))


def test_personal_data_is_left_out() -> None:
    user = User.register("ana@example.org", "Ana Example", "argon2-hash")
    household = Household.create("The Examples", user.id)
    (registered,) = user.collect_events()
    (created,) = household.collect_events()
    _, person = message(1, "ledger.user:User.Registered", registered)
    _, home = message(2, "ledger.household:Household.Created", created)
    text = encode(person).decode() + encode(home).decode()
    for secret in ("ana@example.org", "Ana Example", "argon2-hash", "The Examples"):
        assert secret not in text
    assert person["household_id"] is None and home["household_id"] == str(household.id)
    assert home["data"] == {"owner_id": str(user.id)}


def test_only_our_messages_parse() -> None:
    assert parse(b"not json") is None
    assert parse(b"[1, 2]") is None
    assert parse(b'{"type": "X"}') is None
    assert parse(b'{"id": "e", "type": "X"}') == {"id": "e", "type": "X"}


def test_a_message_says_which_request_and_command_made_its_event() -> None:
    household = Household.create("Home", uuid.uuid4())
    (created,) = household.collect_events()
    metadata = json.dumps(
        {"actor": "a", "correlation_id": "req-7", "command": "createHousehold", "client": "h"}
    )
    _, body = message(3, "ledger.household:Household.Created", created, correlation_of(metadata))
    assert (body["correlation_id"], body["command"]) == ("req-7", "createHousehold")
    assert "actor" not in body and "client" not in body
    _, older = message(3, "ledger.household:Household.Created", created, correlation_of(None))
    assert (older["correlation_id"], older["command"]) == (None, None)


def test_the_correlation_of_malformed_metadata_is_empty() -> None:
    assert (
        correlation_of("not json") == correlation_of("[1]") == correlation_of('{"correlation_id": 5}') == {}
    )
