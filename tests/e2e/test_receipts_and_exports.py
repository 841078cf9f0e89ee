"""Receipts and exports over HTTP: the folder store of the default server, and a second
server whose files go to a real S3 endpoint (moto's server on loopback)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import Member, sign_up
from tests.moto_s3 import ACCESS_KEY, SECRET_KEY, moto_server

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.7\n% a receipt\n" + b"0" * 5000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def spend(client: httpx.Client, description: str = "Lunch", amount: str = "12.50") -> tuple[str, str]:
    account = client.post("/api/v1/accounts", json={"name": "Receipts", "currency": "EUR"}).json()["id"]
    recorded = client.post(
        "/api/v1/transactions",
        json={"kind": "expense", "account_id": account, "amount": amount, "date": "2026-11-03",
              "description": description},
    )  # fmt: skip
    assert recorded.status_code == 201, recorded.text
    return account, str(recorded.json()["id"])


def attach(client: httpx.Client, tid: str, body: bytes, media: str, **params: str) -> httpx.Response:
    return client.post(
        f"/api/v1/transactions/{tid}/receipts", content=body, headers={"Content-Type": media}, params=params
    )


def check_receipts(client: httpx.Client, stranger: Member) -> None:
    _, tid = spend(client)
    attached = attach(client, tid, PDF, "application/pdf", file_name="lunch.pdf")
    assert attached.status_code == 201, attached.text
    sha = hashlib.sha256(PDF).hexdigest()
    assert attached.headers["Location"].endswith(sha)
    token = {"after": attached.json()["consistency_token"]}
    listed = client.get(f"/api/v1/transactions/{tid}/receipts", params=token).json()
    assert [(r["sha256"], r["name"], r["content_type"], r["size"]) for r in listed] == [
        (sha, "lunch.pdf", "application/pdf", len(PDF))
    ]
    assert client.get(f"/api/v1/transactions/{tid}", params=token).json()["receipts"] == 1
    downloaded = client.get(f"/api/v1/transactions/{tid}/receipts/{sha}")
    assert downloaded.status_code == 200
    assert downloaded.content == PDF
    assert downloaded.headers["content-type"].startswith("application/pdf")
    assert 'filename="lunch.pdf"' in downloaded.headers["content-disposition"]
    assert attach(client, tid, PDF, "application/pdf").status_code == 409  # attached already
    mislabelled = attach(client, tid, PDF, "image/png")  # the bytes say otherwise
    assert mislabelled.status_code == 415, mislabelled.text
    assert mislabelled.headers["content-type"].startswith("application/problem+json")
    assert mislabelled.json()["type"].endswith("/unsupported-media-type")
    assert attach(client, tid, b"<script>", "text/html").status_code == 415  # not a type we take
    assert attach(client, tid, b"", "application/pdf").status_code == 422
    too_big = attach(client, tid, b"%PDF-" + b"0" * 2_000_001, "application/pdf")
    assert too_big.status_code == 413, too_big.text
    assert too_big.headers["content-type"].startswith("application/problem+json")
    # Another household sees nothing and changes nothing.
    assert stranger.client.get(f"/api/v1/transactions/{tid}/receipts/{sha}").status_code == 404
    assert attach(stranger.client, tid, PNG, "image/png").status_code == 404
    assert stranger.client.delete(f"/api/v1/transactions/{tid}/receipts/{sha}").status_code == 404
    detached = client.delete(f"/api/v1/transactions/{tid}/receipts/{sha}")
    assert detached.status_code == 200, detached.text
    after = {"after": detached.json()["consistency_token"]}
    assert client.get(f"/api/v1/transactions/{tid}/receipts", params=after).json() == []
    assert client.get(f"/api/v1/transactions/{tid}/receipts/{sha}", params=after).status_code == 404
    assert client.delete(f"/api/v1/transactions/{tid}/receipts/{sha}").status_code == 404


@pytest.mark.reliability
def test_receipts_on_the_folder_store(client: httpx.Client, signup: Callable[..., Member]) -> None:
    check_receipts(client, signup("Stranger"))


def test_a_small_export_streams_with_the_lists_filters(client: httpx.Client) -> None:
    account, _ = spend(client, '=HYPERLINK("http://evil")', "3.00")
    tokens = []
    for n in range(5):
        recorded = client.post(
            "/api/v1/transactions",
            json={"kind": "income", "account_id": account, "amount": f"{n + 1}.00", "date": f"2026-11-1{n}",
                  "description": f"pay {n}"},
        )  # fmt: skip
        assert recorded.status_code == 201, recorded.text
        tokens.append(recorded.json()["consistency_token"])
    after = str(max(tokens))  # the export waits until the read model holds the last of them
    exported = client.get(
        "/api/v1/transactions/export",
        params={"account_id": account, "kind": "income", "format": "csv", "after": after},
    )
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv"), exported.text[:300]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["amount"] for r in rows] == ["1.00", "2.00", "3.00", "4.00", "5.00"]  # oldest first
    everything = client.get("/api/v1/transactions/export", params={"account_id": account}).text
    assert "'=HYPERLINK" in everything  # a formula is exported as text, not run by a spreadsheet
    lines = client.get(
        "/api/v1/transactions/export", params={"account_id": account, "format": "jsonl"}
    ).text.splitlines()
    assert len(lines) == 6
    assert {json.loads(line)["account_id"] for line in lines} == {account}


def test_a_large_export_is_a_link_to_the_file(client: httpx.Client, signup: Callable[..., Member]) -> None:
    account = client.post("/api/v1/accounts", json={"name": "Big", "currency": "EUR"}).json()["id"]
    items = [
        {
            "kind": "income",
            "account_id": account,
            "amount": "1.00",
            "date": "2026-10-01",
            "description": f"n{n}",
        }
        for n in range(60)
    ]
    bulk = client.post("/api/v1/transactions/bulk", json={"transactions": items})
    answer = client.get(
        "/api/v1/transactions/export",
        params={"account_id": account, "format": "jsonl", "after": bulk.json()["consistency_token"]},
    )
    assert answer.status_code == 202, answer.text
    link = answer.json()
    assert (link["rows"], link["format"]) == (60, "jsonl")
    fetched = client.get(link["url"])
    assert fetched.status_code == 200
    assert len(fetched.text.splitlines()) == 60
    stranger = signup("Other")
    assert stranger.client.get(link["url"]).status_code == 404
    forged = link["url"][:-4] + "0000"
    assert client.get(forged).status_code == 404


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with moto_server() as endpoint:
        conninfo = create_database()
        env = {
            "DATABASE_URL": conninfo,
            "FISCAFLOW_RATE_LIMIT": "100000",
            "FISCAFLOW_HOME": str(tmp_path_factory.mktemp("s3home")),
            "S3_ENDPOINT": endpoint,
            "S3_ACCESS_KEY": ACCESS_KEY,
            "S3_SECRET_KEY": SECRET_KEY,
            "S3_BUCKET": "fiscaflow-e2e",
            "FISCAFLOW_EXPORT_INLINE_ROWS": "3",
            "FISCAFLOW_MAX_RECEIPT_BYTES": "2000000",
        }
        running = Server(env, tmp_path_factory.mktemp("s3server") / "server.log")
        running.conninfo = conninfo
        running.s3 = endpoint  # type: ignore[attr-defined]
        try:
            yield running
        finally:
            running.stop()
            drop_database(conninfo)


def test_receipts_and_export_links_on_s3(s3_server: Server) -> None:
    member, stranger = sign_up(s3_server.url, "Sam"), sign_up(s3_server.url, "Eve")
    with member.client, stranger.client:
        check_receipts(member.client, stranger)
        home = Path(s3_server.log_path).parent
        assert not list(home.rglob("receipts"))  # nothing went to a folder
        account, _ = spend(member.client)
        for n in range(4):
            member.client.post(
                "/api/v1/transactions",
                json={"kind": "income", "account_id": account, "amount": "2.00", "date": "2026-11-05",
                      "description": f"p{n}"},
            )  # fmt: skip
        last = member.client.post(
            "/api/v1/transactions",
            json={"kind": "income", "account_id": account, "amount": "2.00", "date": "2026-11-06"},
        )
        answer = member.client.get(
            "/api/v1/transactions/export",
            params={"account_id": account, "after": last.json()["consistency_token"]},
        )
        assert answer.status_code == 202, answer.text
        url: Any = answer.json()["url"]
        assert url.startswith(s3_server.s3)  # type: ignore[attr-defined]
        body = httpx.get(url)  # a presigned link: no bearer token needed
        assert body.status_code == 200
        assert len(list(csv.DictReader(io.StringIO(body.text)))) == 6
