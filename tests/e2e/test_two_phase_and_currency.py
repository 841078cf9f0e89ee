"""Pending then posted (authorise, settle with another amount or date, void, expire), an
import that completes a pending transaction, and entries paid in a foreign currency."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e


def account(client: httpx.Client, name: str, currency: str = "EUR", floor: str | None = "0") -> str:
    body: dict[str, Any] = {"name": name, "currency": currency}
    if floor is not None:
        body["minimum_balance"] = floor
    opened = client.post("/api/v1/accounts", json=body)
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


def record(client: httpx.Client, account_id: str, kind: str, amount: str, **fields: Any) -> httpx.Response:
    body = {"kind": kind, "account_id": account_id, "amount": amount, "date": "2026-11-03"} | fields
    return client.post("/api/v1/transactions", json=body)


def view(client: httpx.Client, path: str, answer: httpx.Response) -> Any:
    token = answer.json()["consistency_token"]
    return client.get(path, params={"after": token}).json()


def test_an_authorisation_holds_then_posts_with_its_final_amount_and_date(client: httpx.Client) -> None:
    card = account(client, "Card")
    assert record(client, card, "income", "100.00").status_code == 201
    held = record(client, card, "expense", "50.00", status="pending", description="Dinner")
    assert held.status_code == 201, held.text
    tid = held.json()["id"]
    seen = view(client, f"/api/v1/transactions/{tid}", held)
    assert seen["status"] == "pending"
    expires = dt.datetime.fromisoformat(seen["expires_at"])
    assert dt.timedelta(days=6, hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)
    assert view(client, f"/api/v1/accounts/{card}", held)["balance"] == "50.00"  # held against it
    # More than the balance allows, counting the hold: refused, nothing changes.
    assert record(client, card, "expense", "60.00").status_code == 409
    posted = client.post(f"/api/v1/transactions/{tid}/post", json={"amount": "58.00", "date": "2026-11-05"})
    assert posted.status_code == 200, posted.text
    final = view(client, f"/api/v1/transactions/{tid}", posted)
    assert (final["status"], final["amount"], final["date"], final["expires_at"]) == (
        "posted", "58.00", "2026-11-05", None,
    )  # fmt: skip
    assert view(client, f"/api/v1/accounts/{card}", posted)["balance"] == "42.00"
    assert client.post(f"/api/v1/transactions/{tid}/post", json={"amount": "1.00"}).status_code == 409
    plain = record(client, card, "expense", "2.00", status="pending")
    assert client.post(f"/api/v1/transactions/{plain.json()['id']}/post").status_code == 200  # no body
    dated = record(client, card, "expense", "3.00", status="pending")
    redated = client.post(f"/api/v1/transactions/{dated.json()['id']}/post", json={"date": "2026-11-06"})
    assert redated.status_code == 200, redated.text  # a new date only: the held amount stays
    final = view(client, f"/api/v1/transactions/{dated.json()['id']}", redated)
    assert (final["status"], final["amount"], final["date"]) == ("posted", "3.00", "2026-11-06")


def test_a_void_releases_the_hold_and_only_pending_ones_are_voided(client: httpx.Client) -> None:
    card = account(client, "Void")
    record(client, card, "income", "30.00")
    held = record(client, card, "expense", "30.00", status="pending")
    tid = held.json()["id"]
    voided = client.post(f"/api/v1/transactions/{tid}/void", json={"reason": "hotel released it"})
    assert voided.status_code == 200, voided.text
    assert view(client, f"/api/v1/transactions/{tid}", voided)["status"] == "cancelled"
    assert view(client, f"/api/v1/accounts/{card}", voided)["balance"] == "30.00"
    posted = record(client, card, "expense", "1.00")
    assert client.post(f"/api/v1/transactions/{posted.json()['id']}/void", json={}).status_code == 409
    assert record(client, card, "expense", "1.00", hold_days=3).status_code == 422  # posted: no hold


def test_holds_that_ran_out_expire(server: Server, client: httpx.Client) -> None:
    card = account(client, "Expiring")
    record(client, card, "income", "10.00")
    short = record(client, card, "expense", "4.00", status="pending", hold_days=1)
    long = record(client, card, "expense", "5.00", status="pending", hold_days=30)
    view(client, f"/api/v1/transactions/{long.json()['id']}", long)  # projected
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FISCAFLOW_")} | {
        "DATABASE_URL": server.conninfo
    }
    done = subprocess.run(
        [sys.executable, "-m", "ops", "holds", "expire", "--at", at],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "expired 1 holds" in done.stdout + done.stderr
    again = subprocess.run(
        [sys.executable, "-m", "ops", "holds", "expire", "--at", at],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "expired 0 holds" in again.stdout + again.stderr  # a second sweep finds nothing to do
    later = client.get(f"/api/v1/transactions/{short.json()['id']}")
    for _ in range(50):
        if later.json()["status"] == "cancelled":
            break
        later = client.get(f"/api/v1/transactions/{short.json()['id']}")
    assert later.json()["status"] == "cancelled"
    assert client.get(f"/api/v1/transactions/{long.json()['id']}").json()["status"] == "pending"
    assert client.get(f"/api/v1/accounts/{card}").json()["balance"] == "5.00"


def test_an_imported_posted_line_completes_the_pending_one(client: httpx.Client) -> None:
    card = account(client, "Imported card", floor=None)
    held = record(client, card, "expense", "50.00", status="pending", description="LA TRATTORIA",
                  date="2026-11-03")  # fmt: skip
    tid = held.json()["id"]
    statement = b"date,amount,description\n2026-11-05,-58.00,LA TRATTORIA LONDON\n2026-11-05,-3.00,BUS\n"
    imported = client.post("/api/v1/transactions/import", params={"account_id": card}, content=statement)
    assert imported.status_code == 201, imported.text
    report = imported.json()
    assert (report["added"], report["completed"]) == (1, 1)
    final = view(client, f"/api/v1/transactions/{tid}", imported)
    assert (final["status"], final["amount"], final["date"]) == ("posted", "58.00", "2026-11-05")
    assert view(client, f"/api/v1/accounts/{card}", imported)["balance"] == "-61.00"
    again = client.post("/api/v1/transactions/import", params={"account_id": card}, content=statement)
    assert (again.status_code, again.json()["duplicates"]) == (200, 2)
    undone = client.post(f"/api/v1/imports/{report['batch_id']}/undo")
    assert undone.status_code == 200, undone.text
    back = view(client, f"/api/v1/transactions/{tid}", undone)
    assert (back["status"], back["amount"], back["date"]) == ("pending", "50.00", "2026-11-03")
    assert view(client, f"/api/v1/accounts/{card}", undone)["balance"] == "-50.00"


def test_a_foreign_currency_entry_records_the_foreign_amount_and_rate(client: httpx.Client) -> None:
    euros = account(client, "Euros", floor=None)
    by_rate = record(
        client, euros, "expense", "100.00", currency="USD", rate="0.9237", description="NYC hotel"
    )
    assert by_rate.status_code == 201, by_rate.text
    seen = view(client, f"/api/v1/transactions/{by_rate.json()['id']}", by_rate)
    assert (seen["amount"], seen["currency"]) == ("92.37", "EUR")
    assert (seen["original_amount"], seen["original_currency"], seen["rate"]) == ("100.00", "USD", "0.9237")
    charged = record(client, euros, "expense", "5000", currency="JPY", account_amount="30.55")
    assert charged.status_code == 201, charged.text
    yen = view(client, f"/api/v1/transactions/{charged.json()['id']}", charged)
    assert (yen["amount"], yen["original_amount"], yen["rate"]) == ("30.55", "5000", "0.00611")
    assert view(client, f"/api/v1/accounts/{euros}", charged)["balance"] == "-122.92"
    for bad in (
        {"currency": "USD"},  # no rate
        {"currency": "USD", "rate": "0.9", "account_amount": "9.00"},  # both
        {"rate": "0.9"},  # the account's own currency
        {"currency": "USD", "rate": "0"},
        {"currency": "JPY", "amount": "10.5", "rate": "0.006"},  # yen have no decimals
    ):
        body = {"kind": "expense", "account_id": euros, "amount": "10.00", "date": "2026-11-03"} | bad
        refused = client.post("/api/v1/transactions", json=body)
        assert refused.status_code == 422, (bad, refused.text)
