"""The log masking processor: secrets and personal data are masked wherever they are in a
log line; dates, amounts, ids and hashes are not."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ops.log_masking import KEY_WORD, luhn_valid, mask_secrets, mask_text, may_name_a_secret

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMiLCJ0eXAiOiJhY2Nlc3MifQ.c2lnbmF0dXJlLWJ5dGVz"
REFRESH = "Qm9vX3Zh3kLr8TqP1xZs7YwN2cJd5HfGa0ObUe4Ii6M"  # like secrets.token_urlsafe(32)


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("login for ana.perez+bills@example.org failed", "login for [email] failed"),
        ("to: o'neil@mail.example.co.uk", "to: o'[email]"),
        ("ANA@EXAMPLE.ORG", "[email]"),
        (f"token {JWT}", "token [token]"),
        (f"Authorization: Bearer {JWT}", "Authorization: [masked]"),
        (f"sent Bearer {REFRESH} upstream", "sent Bearer [token] upstream"),
        ("header Basic dXNlcjpwYXNzd29yZA==", "header Basic [token]"),
        (f"refresh {REFRESH} reused", "refresh [token] reused"),
        ("personal token ffpat_abc123", "personal token [token]"),
        ("signing with whsec_c2VjcmV0", "signing with [token]"),
        ("password=hunter2 rejected", "password=[masked] rejected"),
        ("new_password: 'correct horse'", "new_password: '[masked] horse'"),
        ('{"refresh_token": "abc.def", "n": 1}', '{"refresh_token": "[masked]", "n": 1}'),
        ("client_secret=s3cr3t&x=1", "client_secret=[masked]&x=1"),
        ("API_KEY = abc", "API_KEY = [masked]"),
        (
            "postgresql://fiscaflow:pw0rd@db.example.org:5432/ledger",
            "postgresql://fiscaflow:[masked]@db.example.org:5432/ledger",
        ),
        ("amqp://guest:guest@127.0.0.1:5672/vhost", "amqp://guest:[masked]@127.0.0.1:5672/vhost"),
        ("card 4111 1111 1111 1111.", "card **** **** **** 1111."),
        ("card 4111-1111-1111-1111", "card ****-****-****-1111"),
        ("card=5555555555554444;", "card=************4444;"),
        ("amex 378282246310005", "amex ***********0005"),
        ("amex 3782 822463 10005", "amex **** ****** *0005"),
        ("19 digits 6011000990139424009 here", "19 digits ***************4009 here"),
        ("IBAN DE89370400440532013000", "IBAN DE****************3000"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN DE** **** **** **** **30 00"),
        ("GB82WEST12345698765432", "GB****************5432"),
    ],
)
def test_a_secret_or_personal_datum_is_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-02",
        "2026-11-02T12:30:00.123456+00:00",
        "amount 1234.56 EUR",
        "amount -4111111111111111.00",  # an amount, however large, is not a card
        "ratio 0.4111111111111111",
        "balances 1957.90 and 500.00",
        str(uuid.UUID("12345678-1234-5678-9234-123456789012")),
        "22345678-1234-1234-1234-123456789012",
        "correlation 5b3c1f0e8d2a4c6b9e7f1a2b3c4d5e6f",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15dc08e7a5e7b1c",
        "POST /api/v1/transactions 201 12.3ms 5b3c1f0e8d2a4c6b9e7f1a2b3c4d5e6f",
        "4111111111111112 fails the Luhn check",
        "41111111111111111111111 is too long for a card",
        "1700000000000 ms since the epoch",  # 13 digits, but no card network starts with 1
        "position 123456789 of 987654321",
        "ledger.transaction:Transaction.Recorded v3",
        "projector accounts failed; restarting in 2s",
        "test_a_projector_failure_carries_the_correlation_id_and_more",
        "HTTP/1.1 200 OK, DE89 alone is no account",
        "fiscaflow@localhost sends the mails",
        "token expired",
        "the consistency token was 42",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_keys_that_name_secrets_are_masked_whatever_their_value() -> None:
    event = {
        "event": "login",
        "password": "hunter2",
        "Authorization": "anything at all",
        "access_token": 12345,
        "api-key": ["a", "b"],
        "session_cookie": {"v": 1},
        "card_number": 4111111111111111,
        "iban": "short",
        "pin": "0000",
        "secret": None,  # nothing to hide
        "position": 42,
        "spin": "not a pin",
    }
    masked = mask_secrets(None, "info", event)
    assert masked == {
        "event": "login",
        "password": "[masked]",
        "Authorization": "[masked]",
        "access_token": "[masked]",
        "api-key": "[masked]",
        "session_cookie": "[masked]",
        "card_number": "[masked]",
        "iban": "[masked]",
        "pin": "[masked]",
        "secret": None,
        "position": 42,
        "spin": "not a pin",
    }


def test_nested_values_are_masked_and_other_types_kept() -> None:
    event = {
        "event": "mail to ana@example.org",
        "request": {"headers": {"authorization": "Bearer x"}, "body": [{"email": "b@c.de"}, 7, None]},
        "pair": ("4111111111111111", 2.5),
        "count": 3,
    }
    assert mask_secrets(None, "info", event) == {
        "event": "mail to [email]",
        "request": {"headers": {"authorization": "[masked]"}, "body": [{"email": "[email]"}, 7, None]},
        "pair": ("************1111", 2.5),
        "count": 3,
    }


def test_the_event_dict_it_was_given_is_not_changed() -> None:
    event = {"event": "x", "password": "p"}
    mask_secrets(None, "info", event)
    assert event == {"event": "x", "password": "p"}


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("4111111111111111", True), ("79927398713", True), ("4111111111111112", False), ("0", True)],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


# Letters of the key words in both cases, separators, and the letters that Python's
# case-insensitive regex matches to ASCII ones (long s, Kelvin sign, dotted and dotless i).
KEY_ALPHABET = "passwordecrtkenapiyuhbBASICPWORDSECRTKENAPIYUH_-.: =1\u017f\u212a\u0130\u0131\u00e9"


@given(st.text(alphabet=KEY_ALPHABET, max_size=40) | st.text(max_size=40))
def test_the_fast_look_for_key_words_agrees_with_the_regex(text: str) -> None:
    assert may_name_a_secret(text) == (KEY_WORD.search(text) is not None)


@pytest.mark.parametrize(
    "text", ["pa\u017fsword=hunter2", "API-KEY: x", "Api.Key", "\u212aey TOKEN", "basic"]
)
def test_the_fast_look_for_key_words_finds_them_in_any_case(text: str) -> None:
    assert may_name_a_secret(text)
