"""The HTTP API of a running server, driven over HTTP as a client app would."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.server import Server
from tests.e2e.users import sign_up

pytestmark = pytest.mark.e2e
TOKEN = "X-Consistency-Token"


def open_account(client: httpx.Client, name: str, **fields: Any) -> str:
    response = client.post("/api/v1/accounts", json={"name": name, "currency": "EUR", **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def record(client: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("date", "2026-11-02")
    return client.post("/api/v1/transactions", json=body)


def after(response: httpx.Response) -> dict[str, str]:
    return {TOKEN: response.headers[TOKEN]}


def balances(client: httpx.Client, token: dict[str, str]) -> dict[str, str]:
    response = client.get("/api/v1/accounts", headers=token)
    assert response.status_code == 200, response.text
    return {a["name"]: a["balance"] for a in response.json()}


def test_a_household_opens_accounts_records_and_sees_correct_balances(client: httpx.Client) -> None:
    checking = open_account(client, "Checking", minimum_balance="0")
    savings = open_account(client, "Savings")
    income = record(client, kind="income", account_id=checking, amount="2500.00", description="Salary",
                    category="salary", date="2026-11-01")  # fmt: skip
    expense = record(client, kind="expense", account_id=checking, amount="42.10", description="Groceries",
                     merchant="Aldi", category="groceries")  # fmt: skip
    transfer = record(client, kind="transfer", account_id=checking, to_account_id=savings, amount="500")
    assert [r.status_code for r in (income, expense, transfer)] == [201, 201, 201]

    assert balances(client, after(transfer)) == {"Checking": "1957.90", "Savings": "500.00"}
    listed = client.get("/api/v1/transactions", headers=after(transfer)).json()["items"]
    assert [t["kind"] for t in listed] == ["transfer", "expense", "income"]
    assert listed[1] | {"id": None} == listed[1] | {
        "id": None, "amount": "42.10", "currency": "EUR", "merchant": "Aldi", "category": "groceries",
        "status": "posted", "account_id": checking, "to_account_id": None,
    }  # fmt: skip
    as_of = client.get(f"/api/v1/accounts/{checking}/balance", params={"as_of": "2026-11-01"}).json()
    assert as_of["balance"] == "2500.00"


@pytest.mark.reliability
def test_a_query_with_the_consistency_token_always_sees_the_write(client: httpx.Client) -> None:
    account = open_account(client, "Wallet")
    for n in range(1, 21):
        response = record(client, kind="income", account_id=account, amount="1.00", description=f"n{n}")
        assert response.status_code == 201
        seen = client.get(f"/api/v1/accounts/{account}", params={"after": response.headers[TOKEN]}).json()
        assert seen["balance"] == f"{n}.00"


def test_a_stale_edit_gets_409_with_the_competing_change_and_changes_nothing(client: httpx.Client) -> None:
    account = open_account(client, "Joint")
    created = record(client, kind="expense", account_id=account, amount="10.00", description="Dinner")
    transaction = created.json()["id"]
    mine = client.put(f"/api/v1/transactions/{transaction}", json={"description": "Dinner with Ana"},
                      headers={"If-Match": '"1"'})  # fmt: skip
    assert mine.status_code == 200 and mine.json()["version"] == 2
    theirs = client.put(
        f"/api/v1/transactions/{transaction}", json={"notes": "mine"}, headers={"If-Match": "1"}
    )
    assert theirs.status_code == 409
    problem = theirs.json()
    assert theirs.headers["content-type"].startswith("application/problem+json")
    assert problem["current_version"] == 2
    assert problem["competing_changes"][0]["data"] == {"changes": {"description": "Dinner with Ana"}}
    current = client.get(f"/api/v1/transactions/{transaction}", headers=after(mine)).json()
    assert (current["description"], current["notes"], current["version"]) == ("Dinner with Ana", None, 2)


BAD_BODIES = [
    ({"amount": 12.5}, "a JSON number"),
    ({"amount": 1000}, "a JSON integer"),
    ({"amount": "1e3"}, "exponent notation"),
    ({"amount": "NaN"}, "NaN"),
    ({"amount": "Infinity"}, "Infinity"),
    ({"amount": "1.234"}, "too many decimals for EUR"),
    ({"amount": "1234567890123456"}, "out of range"),
    ({"amount": "-5.00"}, "a negative entry"),
    ({"currency": "XXY"}, "unknown currency"),
    ({"currency": "USD"}, "another currency than the account's"),
    ({"status": "cancelled"}, "a protected status"),
    ({"id": "0b1f4a8e-0000-4000-8000-000000000000"}, "an id (mass assignment)"),
    ({"balance": "100.00"}, "a balance (mass assignment)"),
    ({"kind": "gift"}, "an unknown kind"),
    ({"date": "2026-13-01"}, "an impossible date"),
]


@pytest.mark.reliability
@pytest.mark.parametrize(("change", "why"), BAD_BODIES, ids=[why for _, why in BAD_BODIES])
def test_bad_money_input_is_422_problem_json_and_records_nothing(
    client: httpx.Client, change: dict[str, Any], why: str
) -> None:
    account = open_account(client, "Checking")
    body = {"kind": "expense", "account_id": account, "amount": "1.00", "date": "2026-11-02"} | change
    response = client.post("/api/v1/transactions", json=body)
    assert response.status_code == 422, (why, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert set(response.json()) >= {"type", "title", "status", "detail"}
    listed = client.get("/api/v1/transactions", params={"account_id": account}).json()
    assert listed["items"] == []


def test_malformed_json_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/accounts", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-request")


def test_without_a_token_a_request_is_401(server: Server) -> None:
    response = httpx.get(f"{server.url}/api/v1/accounts")
    assert response.status_code == 401


@pytest.mark.reliability
def test_another_household_gets_404_everywhere_and_changes_nothing(
    server: Server, client: httpx.Client
) -> None:
    account = open_account(client, "Private")
    created = record(client, kind="income", account_id=account, amount="99.00", description="secret")
    transaction = created.json()["id"]
    with sign_up(server.url, "Intruder").client as intruder:
        attempts = [
            intruder.get(f"/api/v1/accounts/{account}"),
            intruder.get(f"/api/v1/accounts/{account}/balance"),
            intruder.put(f"/api/v1/accounts/{account}", json={"name": "Mine"}),
            intruder.delete(f"/api/v1/accounts/{account}"),
            intruder.get(f"/api/v1/transactions/{transaction}"),
            intruder.put(f"/api/v1/transactions/{transaction}", json={"description": "x"}),
            intruder.put(f"/api/v1/transactions/{transaction}/category", json={"category": "x"}),
            intruder.post(f"/api/v1/transactions/{transaction}/post"),
            intruder.post(f"/api/v1/transactions/{transaction}/dispute", json={"reason": "x"}),
            intruder.delete(f"/api/v1/transactions/{transaction}"),
            record(intruder, kind="expense", account_id=account, amount="1.00"),
        ]
        assert [r.status_code for r in attempts] == [404] * len(attempts)
        assert all("secret" not in r.text and "99.00" not in r.text for r in attempts)
        assert intruder.get("/api/v1/accounts").json() == []
        assert intruder.get("/api/v1/transactions").json()["items"] == []
    mine = client.get(f"/api/v1/transactions/{transaction}", headers=after(created)).json()
    assert (mine["version"], mine["description"], mine["status"]) == (1, "secret", "posted")
    assert client.get(f"/api/v1/accounts/{account}").json()["name"] == "Private"


def test_cancel_dispute_and_illegal_transitions(client: httpx.Client) -> None:
    account = open_account(client, "Card", kind="liability", minimum_balance="-100")
    spent = record(client, kind="expense", account_id=account, amount="80.00", status="pending")
    transaction = spent.json()["id"]
    assert record(client, kind="expense", account_id=account, amount="30.00").status_code == 409  # limit
    assert client.post(f"/api/v1/transactions/{transaction}/dispute", json={}).status_code == 409  # pending
    posted = client.post(f"/api/v1/transactions/{transaction}/post")
    assert posted.status_code == 200
    assert (
        client.post(f"/api/v1/transactions/{transaction}/dispute", json={"reason": "not me"}).status_code
        == 200
    )
    cancelled = client.delete(f"/api/v1/transactions/{transaction}", params={"reason": "refunded"})
    assert cancelled.status_code == 200
    assert client.delete(f"/api/v1/transactions/{transaction}").status_code == 409  # already cancelled
    view = client.get(f"/api/v1/transactions/{transaction}", headers=after(cancelled)).json()
    assert view["status"] == "cancelled"
    assert client.get(f"/api/v1/accounts/{account}", headers=after(cancelled)).json()["balance"] == "0.00"


def test_a_closed_account_takes_no_postings(client: httpx.Client) -> None:
    account = open_account(client, "Old")
    funded = record(client, kind="income", account_id=account, amount="5.00")
    assert client.delete(f"/api/v1/accounts/{account}").json()["type"].endswith("/account-not-empty")
    refunded = client.delete(f"/api/v1/transactions/{funded.json()['id']}")
    assert refunded.status_code == 200
    version = client.get(f"/api/v1/accounts/{account}", headers=after(refunded)).json()["version"]
    closed = client.delete(f"/api/v1/accounts/{account}", headers={"If-Match": f'"{version}"'})
    assert closed.status_code == 200, closed.text
    refused = record(client, kind="income", account_id=account, amount="1.00")
    assert refused.status_code == 409 and refused.json()["type"].endswith("/account-closed")
    assert client.get(f"/api/v1/accounts/{account}", headers=after(closed)).json()["status"] == "closed"


def test_recategorise_moves_the_counter_posting(client: httpx.Client) -> None:
    account = open_account(client, "Checking")
    spent = record(client, kind="expense", account_id=account, amount="12.00", category="food")
    transaction = spent.json()["id"]
    moved = client.put(f"/api/v1/transactions/{transaction}/category", json={"category": "leisure"})
    assert moved.status_code == 200
    listed = client.get("/api/v1/transactions", params={"category": "leisure"}, headers=after(moved)).json()
    assert [t["id"] for t in listed["items"]] == [transaction]
    assert client.get("/api/v1/transactions", params={"category": "food"}).json()["items"] == []


@pytest.mark.reliability
def test_openapi_documents_every_route_with_descriptions(server: Server) -> None:
    document = httpx.get(f"{server.url}/schema/openapi.json").json()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete"}
    }
    assert {
        ("POST", "/api/v1/accounts"), ("GET", "/api/v1/accounts"), ("GET", "/api/v1/accounts/{account_id}"),
        ("PUT", "/api/v1/accounts/{account_id}"), ("DELETE", "/api/v1/accounts/{account_id}"),
        ("GET", "/api/v1/accounts/{account_id}/balance"), ("POST", "/api/v1/transactions"),
        ("GET", "/api/v1/transactions"), ("GET", "/api/v1/transactions/{transaction_id}"),
        ("PUT", "/api/v1/transactions/{transaction_id}"), ("DELETE", "/api/v1/transactions/{transaction_id}"),
        ("PUT", "/api/v1/transactions/{transaction_id}/category"),
        ("POST", "/api/v1/transactions/{transaction_id}/post"),
        ("POST", "/api/v1/transactions/{transaction_id}/dispute"), ("GET", "/health"), ("GET", "/ready"),
    } <= operations  # fmt: skip
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "delete"}:
                assert operation.get("description") or operation.get("summary"), (method, path)
