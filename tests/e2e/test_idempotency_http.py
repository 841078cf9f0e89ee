"""Idempotency-Key over HTTP: a retry gets the identical answer and adds no event."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]


def test_a_retried_command_answers_identically_and_records_once(client: httpx.Client) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()["id"]
    body = {"kind": "income", "account_id": account, "amount": "10.00", "date": "2026-11-01"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/api/v1/transactions", json=body, headers=key)
    second = client.post("/api/v1/transactions", json=body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert first.headers["Location"] == second.headers["Location"]
    after = {"X-Consistency-Token": second.headers["X-Consistency-Token"]}
    assert client.get(f"/api/v1/accounts/{account}", headers=after).json()["balance"] == "10.00"

    changed = client.post("/api/v1/transactions", json=body | {"amount": "11.00"}, headers=key)
    assert changed.status_code == 409
    assert changed.json()["type"].endswith("/idempotency-key-reused")


def test_concurrent_duplicates_give_one_transaction(client: httpx.Client, server: object) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Race", "currency": "EUR"}).json()["id"]
    body = {"kind": "income", "account_id": account, "amount": "1.00", "date": "2026-11-01"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(5)

    def send() -> None:
        barrier.wait()
        answers.append(client.post("/api/v1/transactions", json=body, headers=key))

    threads = [threading.Thread(target=send) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [201] * 5
    assert len({a.json()["id"] for a in answers}) == 1
    token = {"X-Consistency-Token": max(a.headers["X-Consistency-Token"] for a in answers)}
    listed = client.get("/api/v1/transactions", params={"account_id": account}, headers=token).json()
    assert len(listed["items"]) == 1


def test_edits_and_cancels_are_idempotent_too(client: httpx.Client) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Edits", "currency": "EUR"}).json()["id"]
    body = {"kind": "income", "account_id": account, "amount": "3.00", "date": "2026-11-01"}
    transaction = client.post("/api/v1/transactions", json=body).json()["id"]
    key = {"Idempotency-Key": "cancel-" + transaction}
    first = client.delete(f"/api/v1/transactions/{transaction}", headers=key)
    again = client.delete(f"/api/v1/transactions/{transaction}", headers=key)
    assert (first.status_code, again.status_code) == (200, 200)  # not 409 "already cancelled"
    assert first.json() == again.json()
    bad = client.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": "x" * 256})
    assert bad.status_code in (400, 422)


def events(server: object) -> int:
    import psycopg

    with psycopg.connect(server.conninfo) as conn:  # type: ignore[attr-defined]
        row = conn.execute("SELECT count(*) FROM eventstore.fiscaflow_events").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(
    ("path", "body", "changed"),
    [
        ("/api/v1/categories", {"name": "Boat"}, {"name": "Ship"}),
        (
            "/api/v1/rules",
            {"name": "R", "triggers": [{"field": "merchant", "op": "contains", "value": "x"}],
             "actions": {"add_tags": ["x"]}},
            {"name": "R2", "triggers": [{"field": "merchant", "op": "contains", "value": "x"}],
             "actions": {"add_tags": ["x"]}},
        ),
        (
            "/api/v1/budgets",
            {"name": "B", "categories": ["food"], "limit": "10.00", "currency": "EUR"},
            {"name": "B", "categories": ["food"], "limit": "11.00", "currency": "EUR"},
        ),
    ],
)  # fmt: skip
def test_new_commands_answer_a_retry_identically(
    client: httpx.Client, server: object, path: str, body: dict[str, object], changed: dict[str, object]
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(path, json=body, headers=key)
    assert first.status_code == 201, first.text
    before = events(server)
    second = client.post(path, json=body, headers=key)
    assert (second.status_code, second.json()) == (201, first.json())
    assert events(server) == before
    assert client.post(path, json=changed, headers=key).status_code == 409


def test_a_retried_receipt_and_rule_run_answer_identically(client: httpx.Client, server: object) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Files", "currency": "EUR"}).json()["id"]
    spent = client.post(
        "/api/v1/transactions",
        json={
            "kind": "expense",
            "account_id": account,
            "amount": "3.00",
            "date": "2026-11-01",
            "merchant": "Kiosk",
        },
    ).json()["id"]
    key = {"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/pdf"}
    path = f"/api/v1/transactions/{spent}/receipts"
    first = client.post(path, content=b"%PDF-1.7 receipt", headers=key)
    assert first.status_code == 201, first.text
    before = events(server)
    second = client.post(path, content=b"%PDF-1.7 receipt", headers=key)
    assert (second.status_code, second.json()) == (201, first.json())  # not "attached already"
    assert events(server) == before
    assert client.post(path, content=b"%PDF-1.7 another", headers=key).status_code == 409
    rule = client.post(
        "/api/v1/rules",
        json={"name": "Kiosk", "triggers": [{"field": "merchant", "op": "equals", "value": "kiosk"}],
              "actions": {"set_category": "coffee"}},
    ).json()["id"]  # fmt: skip
    run_key = {"Idempotency-Key": str(uuid.uuid4())}
    ran = client.post(f"/api/v1/rules/{rule}/runs", json={}, headers=run_key)
    assert ran.status_code == 201, ran.text
    before = events(server)
    again = client.post(f"/api/v1/rules/{rule}/runs", json={}, headers=run_key)
    assert (again.status_code, again.json()) == (201, ran.json())
    assert events(server) == before
