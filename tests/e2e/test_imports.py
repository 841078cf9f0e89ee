"""Importing bank statements over HTTP: realistic CSV and OFX files, re-imports, malformed
files, undo, transfers recognised across accounts. Event counts come from the real store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e
STATEMENTS = Path(__file__).resolve().parents[1] / "fixtures" / "statements"
GIRO = {
    "date_column": "Buchungstag",
    "amount_column": "Betrag",
    "description_column": "Verwendungszweck",
    "merchant_column": "Auftraggeber/Empfänger",
    "id_column": "Referenz",
    "date_format": "%d.%m.%Y",
    "decimal": ",",
    "thousands": ".",
}


def events(server: Server) -> int:
    with psycopg.connect(server.conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM eventstore.fiscaflow_events").fetchone()
        assert row is not None
        return int(row[0])


def account(client: httpx.Client, name: str, currency: str) -> str:
    opened = client.post("/api/v1/accounts", json={"name": name, "currency": currency})
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


def upload(client: httpx.Client, account_id: str, body: bytes, **params: Any) -> httpx.Response:
    return client.post(
        "/api/v1/transactions/import",
        params={"account_id": account_id, **params},
        content=body,
        headers={"Content-Type": "text/csv"},
        timeout=60,
    )


def balance(client: httpx.Client, account_id: str, after: int) -> str:
    return str(client.get(f"/api/v1/accounts/{account_id}", params={"after": after}).json()["balance"])


def test_a_bank_csv_imports_once_with_a_report(server: Server, client: httpx.Client) -> None:
    giro = account(client, "Girokonto", "EUR")
    body = (STATEMENTS / "girokonto.csv").read_bytes()
    first = upload(client, giro, body, **GIRO)
    assert first.status_code == 201, first.text
    report = first.json()
    assert (report["lines"], report["added"], report["duplicates"], report["rejected_count"]) == (11, 9, 0, 2)
    assert report["rejected"] == [
        {"line": 10, "reason": "'-12.5' is not an amount"},
        {"line": 11, "reason": "'31.11.2026' is not a date like %d.%m.%Y"},
    ]
    token = report["consistency_token"]
    assert (
        balance(client, giro, token) == "1892.65"
    )  # 3250 - 54.37 - 86 - 13.99 - 2 * 4.80 - 1049.90 - 23.49 - 120
    listed = client.get(
        "/api/v1/transactions", params={"account_id": giro, "after": token, "limit": 50}
    ).json()
    assert len(listed["items"]) == 9
    assert {t["import_batch_id"] for t in listed["items"]} == {report["batch_id"]}
    power = next(t for t in listed["items"] if t["merchant"] == "Stadtwerke Berlin")
    assert (
        power["description"] == "Abschlag Strom November Kundennr. 4471123"
    )  # a quoted field over two lines
    shown = client.get(f"/api/v1/imports/{report['batch_id']}", params={"after": token}).json()
    assert (shown["added"], shown["rejected_count"], shown["format"], shown["reverted"]) == (
        9,
        2,
        "csv",
        False,
    )

    before = events(server)
    again = upload(client, giro, body, **GIRO)
    assert again.status_code == 200, again.text
    assert (again.json()["added"], again.json()["duplicates"], again.json()["batch_id"]) == (0, 9, None)
    assert events(server) == before  # a re-import changes nothing


@pytest.mark.parametrize(
    ("body", "params", "detail"),
    [
        (b"", {}, "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", {}, "not"),
        (b"Datum;Betrag\n01.11.2026;-1,00\n", GIRO, "no column 'Buchungstag'"),
        ("Buchungstag;Betrag\n".encode("utf-16"), GIRO, "not"),
        (b"date,amount,description\n2026-13-01,1.00,x\nnope,1,y\n", {}, "no line of the file could be read"),
        (b'date,amount,description\n2026-11-01,1.00,"unterminated\n', {}, "line 2"),
        (b"OFXHEADER:100\n<OFX><BANKTRANLIST><STMTTRN><TRNAMT>1.00", {"format": "ofx"}, "not closed"),
        (b"date,amount\n2026-11-01,1\n", {"format": "ofx"}, "not an OFX file"),
    ],
)
def test_a_malformed_file_is_refused_and_changes_nothing(
    server: Server, client: httpx.Client, body: bytes, params: dict[str, str], detail: str
) -> None:
    target = account(client, "Target", "EUR")
    before = events(server)
    refused = upload(client, target, body, **params)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert detail in refused.json()["detail"]
    assert events(server) == before


def test_bad_options_and_foreign_accounts_are_refused(client: httpx.Client, signup: Any) -> None:
    mine = account(client, "Mine", "EUR")
    csv = b"date,amount,description\n2026-11-01,1.00,x\n"
    assert upload(client, mine, csv, decimal=";").status_code == 422
    assert upload(client, mine, csv, sign="split").status_code == 422  # no debit/credit columns
    assert upload(client, mine, csv, date_format="%H:%M").status_code == 422
    stranger = signup("Stranger")
    assert upload(stranger.client, mine, csv).status_code == 404
    assert upload(client, "not-a-uuid", csv).status_code == 422


def test_an_ofx_statement_imports_dedupes_and_matches_a_transfer(
    server: Server, client: httpx.Client
) -> None:
    current = account(client, "Current", "GBP")
    savings = account(client, "Savings", "GBP")
    rule = {
        "name": "Coffee",
        "triggers": [{"field": "merchant", "op": "contains", "value": "costa"}],
        "actions": {"set_category": "coffee"},
    }
    assert client.post("/api/v1/rules", json=rule).status_code == 201
    # The savings side was recorded by hand first, as an income nobody categorised.
    moved_in = client.post(
        "/api/v1/transactions",
        json={"kind": "income", "account_id": savings, "amount": "500.00", "date": "2026-11-08",
              "description": "From current account"},
    )  # fmt: skip
    assert moved_in.status_code == 201
    body = (STATEMENTS / "statement.ofx").read_bytes()
    imported = client.post(
        "/api/v1/transactions/import",
        params={"account_id": current, "file_name": "statement.ofx"},
        content=body,
        headers={"Content-Type": "application/x-ofx"},
    )
    assert imported.status_code == 201, imported.text
    report = imported.json()
    assert (report["lines"], report["added"], report["transfers"], report["rejected_count"]) == (8, 6, 1, 1)
    assert report["rejected"] == [{"line": 79, "reason": "'abc' is not an amount"}]
    token = report["consistency_token"]
    assert balance(client, current, token) == "957.84"  # the statement's ledger balance
    assert balance(client, savings, token) == "500.00"  # one transfer, not an income plus an expense
    transfer = client.get(f"/api/v1/transactions/{moved_in.json()['id']}", params={"after": token}).json()
    assert (transfer["kind"], transfer["account_id"], transfer["to_account_id"]) == (
        "transfer",
        current,
        savings,
    )
    items = client.get("/api/v1/transactions", params={"account_id": current, "after": token}).json()["items"]
    coffees = [t for t in items if t["merchant"] == "COSTA COFFEE"]
    assert [(t["category"], t["categorization_source"]) for t in coffees] == [("coffee", "rule")] * 2
    assert {t["merchant"] for t in items} >= {"M&S SIMPLY FOOD", "TESCO STORES 2041"}  # entities decoded

    before = events(server)
    again = client.post("/api/v1/transactions/import", params={"account_id": current}, content=body)
    assert (again.status_code, again.json()["added"], again.json()["duplicates"]) == (200, 0, 7)
    assert events(server) == before
    undone = client.post(f"/api/v1/imports/{report['batch_id']}/undo")
    assert undone.status_code == 200, undone.text
    after = undone.json()["consistency_token"]
    back = client.get(f"/api/v1/transactions/{moved_in.json()['id']}", params={"after": after}).json()
    assert (back["kind"], back["account_id"], back["to_account_id"]) == ("income", savings, None)
    assert (balance(client, current, after), balance(client, savings, after)) == ("0.00", "500.00")
    euro = account(client, "Euro", "EUR")
    wrong = client.post("/api/v1/transactions/import", params={"account_id": euro}, content=body)
    assert wrong.status_code == 422
    assert "GBP" in wrong.json()["detail"]


def test_an_import_is_undone_whole_and_a_corrected_file_imports_cleanly(client: httpx.Client) -> None:
    current = account(client, "Undo", "EUR")
    wrong = b"date,amount,description\n2026-11-01,-10.00,Coffee\n2026-11-02,-2000.00,Typo rent\n"
    first = upload(client, current, wrong)
    assert first.status_code == 201
    batch = first.json()["batch_id"]
    assert balance(client, current, first.json()["consistency_token"]) == "-2010.00"
    undone = client.post(f"/api/v1/imports/{batch}/undo", params={"reason": "wrong file"})
    assert undone.status_code == 200, undone.text
    token = undone.json()["consistency_token"]
    assert balance(client, current, token) == "0.00"
    items = client.get("/api/v1/transactions", params={"account_id": current, "after": token}).json()["items"]
    assert [t["status"] for t in items] == ["cancelled", "cancelled"]  # kept in the history
    assert client.post(f"/api/v1/imports/{batch}/undo").status_code == 409
    corrected = b"date,amount,description\n2026-11-01,-10.00,Coffee\n2026-11-02,-200.00,Rent\n"
    second = upload(client, current, corrected)
    assert (second.status_code, second.json()["added"], second.json()["duplicates"]) == (201, 2, 0)
    assert balance(client, current, second.json()["consistency_token"]) == "-210.00"
    assert client.get(f"/api/v1/imports/{batch}", params={"after": token}).json()["reverted"] is True


def test_a_bank_id_twice_is_one_transaction_and_an_identical_line_twice_is_two(client: httpx.Client) -> None:
    current = account(client, "Twice", "EUR")
    by_id = b"date,amount,description,ref\n2026-11-01,-5.00,Cafe,R1\n2026-11-01,-5.00,Cafe,R1\n"
    first = upload(client, current, by_id, id_column="ref")
    assert (first.json()["added"], first.json()["duplicates"]) == (1, 1)
    same = b"date,amount,description\n2026-11-02,-3.50,Coffee\n2026-11-02,-3.50,Coffee\n"
    second = upload(client, current, same)
    assert (second.json()["added"], second.json()["duplicates"]) == (2, 0)  # two coffees that day
    assert upload(client, current, same).json()["duplicates"] == 2


def test_the_same_idempotency_key_answers_the_same_report(server: Server, client: httpx.Client) -> None:
    current = account(client, "Keyed", "EUR")
    body = b"date,amount,description\n2026-11-01,-1.00,Bread\n"
    key = {"Idempotency-Key": "import-42"}
    first = client.post(
        "/api/v1/transactions/import", params={"account_id": current}, content=body, headers=key
    )
    assert first.status_code == 201
    before = events(server)
    second = client.post(
        "/api/v1/transactions/import", params={"account_id": current}, content=body, headers=key
    )
    assert second.status_code == 201
    assert {k: v for k, v in second.json().items() if k != "consistency_token"} == {
        k: v for k, v in first.json().items() if k != "consistency_token"
    }
    assert events(server) == before
    other = client.post(
        "/api/v1/transactions/import",
        params={"account_id": current},
        content=body + b"2026-11-02,-2,x\n",
        headers=key,
    )
    assert other.status_code == 409
