"""Idempotency-Key over HTTP: a retry gets the identical answer and adds no event."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest

pytestmark = pytest.mark.e2e


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
