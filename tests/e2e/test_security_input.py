"""Hostile input over HTTP: mass assignment, money input, duplicate keys, oversized bodies,
page sizes, response fields and security headers.

"Records nothing" is proven by the event positions: a write to a probe account just
before and just after the refused request get consecutive positions, so no event was
appended in between (the tests of a module run one at a time, and a rename is one event).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server
from tests.e2e.users import Member, login, sign_up

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
TOKEN = "X-Consistency-Token"
ACCOUNTS, TRANSACTIONS, REGISTER = "/api/v1/accounts", "/api/v1/transactions", "/api/v1/users/register"
SOME_ID = "0b1f4a8e-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def household(server: Server) -> Iterator[Member]:
    member = sign_up(server.url, "Inputs")
    with member.client:
        yield member


@pytest.fixture(scope="module")
def client(household: Member) -> httpx.Client:
    return household.client


def open_account(client: httpx.Client, name: str, currency: str = "EUR") -> str:
    response = client.post(ACCOUNTS, json={"name": name, "currency": currency})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def accounts(client: httpx.Client) -> dict[str, str]:
    """EUR and JPY accounts to post to, and a probe account whose renames mark positions."""
    opened = {name: open_account(client, name, currency) for name, currency in
              [("Checking", "EUR"), ("Yen", "JPY"), ("Probe", "EUR")]}  # fmt: skip
    spent = client.post(TRANSACTIONS, json={"kind": "expense", "account_id": opened["Checking"],
                                            "amount": "12.34", "date": "2026-11-02"})  # fmt: skip
    assert spent.status_code == 201, spent.text
    return opened


def probe_position(client: httpx.Client, probe: str) -> int:
    renamed = client.put(f"{ACCOUNTS}/{probe}", json={"name": f"Probe {uuid.uuid4().hex[:8]}"})
    assert renamed.status_code == 200, renamed.text
    return int(renamed.json()["consistency_token"])


def refused_and_recorded_nothing(
    client: httpx.Client, probe: str, send: Callable[[], httpx.Response], status: int = 422
) -> httpx.Response:
    """Send a request between two probe writes: it must get `status` as problem+json, and
    the probe writes must get consecutive positions (nothing was appended in between)."""
    before = probe_position(client, probe)
    response = send()
    after = probe_position(client, probe)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert set(response.json()) >= {"type", "title", "status", "detail"}
    assert after == before + 1, f"{after - before - 1} event(s) recorded by a refused request"
    return response


def mentions(response: httpx.Response, field: str) -> bool:
    return any(field in str(error.get("message", "")) for error in response.json().get("errors", []))


# --- mass assignment ---------------------------------------------------------------------

PROTECTED_ACCOUNT_FIELDS = {
    "id": SOME_ID,
    "household_id": SOME_ID,
    "user_id": SOME_ID,
    "owner": SOME_ID,
    "owner_id": SOME_ID,
    "balance": "1000000.00",
    "status": "closed",
    "version": 7,
    "opened_at": "2020-01-01T00:00:00Z",
}


@pytest.mark.reliability
@pytest.mark.parametrize("field", list(PROTECTED_ACCOUNT_FIELDS))
def test_a_protected_field_on_account_creation_is_422_and_opens_nothing(
    client: httpx.Client, accounts: dict[str, str], field: str
) -> None:
    name = f"Injected {field}"
    body = {"name": name, "currency": "EUR", field: PROTECTED_ACCOUNT_FIELDS[field]}
    refused = refused_and_recorded_nothing(
        client, accounts["Probe"], lambda: client.post(ACCOUNTS, json=body)
    )
    assert mentions(refused, field)
    assert name not in {a["name"] for a in client.get(ACCOUNTS).json()}


PROTECTED_USER_FIELDS = {
    "role": "admin",
    "email_verified": True,
    "id": SOME_ID,
    "user_id": SOME_ID,
    "household_id": SOME_ID,
    "status": "active",
    "version": 1,
    "password_hash": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
}


@pytest.mark.reliability
@pytest.mark.parametrize("field", list(PROTECTED_USER_FIELDS))
def test_a_protected_field_on_register_is_422_and_registers_nobody(
    server: Server, client: httpx.Client, accounts: dict[str, str], field: str
) -> None:
    email = f"mass-{field}-{uuid.uuid4().hex[:8]}@example.org"
    body = {"email": email, "password": "a long and unusual passphrase", "display_name": "Mallory"}

    def send() -> httpx.Response:
        return httpx.post(f"{server.url}{REGISTER}", json=body | {field: PROTECTED_USER_FIELDS[field]})

    assert mentions(refused_and_recorded_nothing(client, accounts["Probe"], send), field)
    clean = httpx.post(f"{server.url}{REGISTER}", json=body)
    assert clean.status_code == 202, clean.text
    assert "user_id" in clean.json()  # the email was not taken by the refused request
    me = login(server.url, email, body["password"]).json()["access_token"]
    profile = httpx.get(
        f"{server.url}/api/v1/users/profile",
        headers={"Authorization": f"Bearer {me}", TOKEN: str(clean.json()["consistency_token"])},
    ).json()
    assert (profile["role"], profile["email_verified"]) == ("user", False)


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("field", "value"),
    [("role", "admin"), ("email_verified", True), ("email", "other@example.org"), ("status", "active"),
     ("version", 99)],
)  # fmt: skip
def test_a_protected_field_on_a_profile_update_is_422(
    client: httpx.Client, accounts: dict[str, str], field: str, value: Any
) -> None:
    body = {"display_name": "Renamed", field: value}
    refused_and_recorded_nothing(
        client, accounts["Probe"], lambda: client.put("/api/v1/users/profile", json=body)
    )


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("field", "value"),
    [("household_id", SOME_ID), ("user_id", SOME_ID), ("version", 3), ("recorded_at", "2020-01-01T00:00:00Z"),
     ("posted_by", SOME_ID)],
)  # fmt: skip
def test_a_protected_field_on_a_transaction_is_422(
    client: httpx.Client, accounts: dict[str, str], field: str, value: Any
) -> None:
    body = {"kind": "expense", "account_id": accounts["Checking"], "amount": "1.00", "date": "2026-11-02"}
    refused = refused_and_recorded_nothing(
        client, accounts["Probe"], lambda: client.post(TRANSACTIONS, json=body | {field: value})
    )
    assert mentions(refused, field)


# --- money input --------------------------------------------------------------------------

BAD_MONEY: list[tuple[str, str, dict[str, Any]]] = [
    ("float", "Checking", {"amount": 12.5}),
    ("integer", "Checking", {"amount": 1000}),
    ("exponent", "Checking", {"amount": "1e3"}),
    ("exponent-upper", "Checking", {"amount": "1E3"}),
    ("nan", "Checking", {"amount": "NaN"}),
    ("snan", "Checking", {"amount": "sNaN"}),
    ("infinity", "Checking", {"amount": "Infinity"}),
    ("minus-infinity", "Checking", {"amount": "-Infinity"}),
    ("inf", "Checking", {"amount": "inf"}),
    ("too-many-decimals-eur", "Checking", {"amount": "1.234"}),
    ("decimals-on-jpy", "Yen", {"amount": "100.5"}),
    ("five-decimals", "Checking", {"amount": "1.00001"}),
    ("out-of-range", "Checking", {"amount": "1234567890123456"}),
    ("huge", "Checking", {"amount": "9" * 400}),
    ("zero", "Checking", {"amount": "0.00"}),
    ("negative", "Checking", {"amount": "-5.00"}),
    ("plus-sign", "Checking", {"amount": "+5.00"}),
    ("comma", "Checking", {"amount": "5,00"}),
    ("spaces", "Checking", {"amount": " 5.00 "}),
    ("underscore", "Checking", {"amount": "1_000"}),
    ("hex", "Checking", {"amount": "0x10"}),
    ("non-ascii-digits", "Checking", {"amount": "\u0661\u0662"}),
    ("empty", "Checking", {"amount": ""}),
    ("null", "Checking", {"amount": None}),
    ("unknown-currency", "Checking", {"currency": "XXY"}),
    ("lower-case-currency", "Checking", {"currency": "eur"}),
    ("another-currency", "Checking", {"currency": "USD"}),
]


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("account", "change"), [(a, c) for _, a, c in BAD_MONEY], ids=[i for i, _, _ in BAD_MONEY]
)
def test_bad_money_input_is_422_and_records_no_event(
    client: httpx.Client, accounts: dict[str, str], account: str, change: dict[str, Any]
) -> None:
    body = {"kind": "expense", "account_id": accounts[account], "amount": "1.00", "date": "2026-11-02"}
    refused_and_recorded_nothing(
        client, accounts["Probe"], lambda: client.post(TRANSACTIONS, json=body | change)
    )


@pytest.mark.reliability
@pytest.mark.parametrize(
    "query", ["NaN", "Infinity", "1e3", "-1", "9" * 400, "1.2.3"], ids=lambda q: f"min_amount={q[:12]}"
)
def test_bad_money_in_a_query_is_4xx_not_5xx(client: httpx.Client, query: str) -> None:
    response = client.get(TRANSACTIONS, params={"min_amount": query})
    assert response.status_code in {400, 422}, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


DUPLICATES = [
    ("transaction-amount", TRANSACTIONS,
     '{{"kind": "expense", "account_id": "{Checking}", "date": "2026-11-02", '
     '"amount": "1.00", "amount": "900.00"}}'),
    ("account-currency", ACCOUNTS, '{{"name": "Twice", "currency": "EUR", "currency": "USD"}}'),
]  # fmt: skip


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("path", "template"), [(p, t) for _, p, t in DUPLICATES], ids=[i for i, _, _ in DUPLICATES]
)
def test_a_body_with_a_duplicate_key_is_422_and_records_no_event(
    client: httpx.Client, accounts: dict[str, str], path: str, template: str
) -> None:
    content = template.format(**accounts).encode()
    json.loads(content)  # valid JSON by the letter of RFC 8259, which only says names SHOULD be unique
    headers = {"content-type": "application/json"}
    refused_and_recorded_nothing(
        client, accounts["Probe"], lambda: client.post(path, content=content, headers=headers)
    )


# --- limits -------------------------------------------------------------------------------


@pytest.mark.reliability
def test_an_oversized_body_is_413_and_records_no_event(
    client: httpx.Client, accounts: dict[str, str]
) -> None:
    padding = "x" * 1_100_000
    content = json.dumps({"name": "Big", "currency": "EUR", "notes": padding}).encode()
    headers = {"content-type": "application/json"}
    refused_and_recorded_nothing(
        client, accounts["Probe"], lambda: client.post(ACCOUNTS, content=content, headers=headers), 413
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds for a streamed body too
        yield b'{"name": "Big", "currency": "EUR", "notes": "'
        for _ in range(12):
            yield b"x" * 100_000
        yield b'"}'

    refused_and_recorded_nothing(
        client, accounts["Probe"], lambda: client.post(ACCOUNTS, content=chunks(), headers=headers), 413
    )


BAD_PAGES = [
    (TRANSACTIONS, "limit", "100000"),
    (TRANSACTIONS, "limit", "501"),
    (TRANSACTIONS, "limit", "0"),
    (TRANSACTIONS, "limit", "-1"),
    (TRANSACTIONS, "limit", "1e9"),
    (TRANSACTIONS, "limit", "abc"),
    (TRANSACTIONS, "limit", "9" * 40),
    (TRANSACTIONS, "cursor", "not-a-cursor"),
    (TRANSACTIONS, "cursor", "\x00\xff"),
    ("/api/v1/users/", "limit", "100000"),
    ("/api/v1/users/", "offset", "-1"),
]


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("path", "name", "value"), BAD_PAGES, ids=[f"{p}?{n}={v[:10]!r}" for p, n, v in BAD_PAGES]
)
def test_a_huge_or_bad_page_request_is_4xx_not_5xx(
    client: httpx.Client, path: str, name: str, value: str
) -> None:
    response = client.get(path, params={name: value})
    assert response.status_code in {400, 422}, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


# --- responses ------------------------------------------------------------------------------


@pytest.mark.reliability
def test_responses_carry_only_their_documented_fields(
    server: Server, client: httpx.Client, accounts: dict[str, str]
) -> None:
    schemas = httpx.get(f"{server.url}/schema/openapi.json").json()["components"]["schemas"]

    def documented(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    position = {TOKEN: str(probe_position(client, accounts["Probe"]))}
    listed = client.get(ACCOUNTS, headers=position).json()
    assert len(listed) >= 3
    assert all(set(item) == documented("AccountView") for item in listed), listed[0]
    assert set(client.get(f"{ACCOUNTS}/{accounts['Checking']}").json()) == documented("AccountView")
    balance = client.get(f"{ACCOUNTS}/{accounts['Checking']}/balance").json()
    assert set(balance) == documented("BalanceView")
    page = client.get(TRANSACTIONS, headers=position).json()
    assert set(page) == documented("TransactionPage")
    assert page["items"]
    assert all(set(item) == documented("TransactionView") for item in page["items"])
    assert set(client.get("/api/v1/users/profile").json()) == documented("ProfileView")
    households = client.get("/api/v1/households/").json()
    assert households
    assert all(set(h) == documented("HouseholdView") for h in households)
    assert all(set(m) == documented("MemberView") for h in households for m in h["members"])


SECURITY_HEADERS = {"x-content-type-options": "nosniff", "cache-control": "no-store"}


def security_headers(response: httpx.Response) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in SECURITY_HEADERS}


def test_a_successful_response_carries_the_security_headers(client: httpx.Client) -> None:
    for response in (
        client.get(ACCOUNTS),
        client.post(ACCOUNTS, json={"name": "Headers", "currency": "EUR"}),
    ):
        assert response.is_success
        assert security_headers(response) == SECURITY_HEADERS


ERRORS: dict[str, Callable[[Server, httpx.Client], httpx.Response]] = {
    "401-no-token": lambda s, c: httpx.get(f"{s.url}{ACCOUNTS}"),
    "401-bad-token": lambda s, c: httpx.get(f"{s.url}{ACCOUNTS}", headers={"Authorization": "Bearer x.y.z"}),
    "401-login-failed": lambda s, c: login(s.url, "nobody@example.org", "not the password at all"),
    "404-unknown-route": lambda s, c: c.get("/api/v1/nothing-here"),
    "404-unknown-account": lambda s, c: c.get(f"{ACCOUNTS}/{SOME_ID}"),
    "422-invalid-body": lambda s, c: c.post(ACCOUNTS, json={"name": ""}),
}


@pytest.mark.parametrize("error", list(ERRORS))
def test_an_error_response_carries_the_security_headers(
    server: Server, client: httpx.Client, error: str
) -> None:
    response = ERRORS[error](server, client)
    assert response.status_code >= 400
    assert response.headers["content-type"].startswith(PROBLEM)
    assert security_headers(response) == SECURITY_HEADERS
