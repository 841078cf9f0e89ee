"""A request's X-Request-ID, end to end: echoed on the answer, on the server's log line for
the request, in the metadata of the events it appended, and in the message the server's
relay published to RabbitMQ for each of them (AMQP property and JSON body)."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from kombu import Connection

from projections.base import EVENTS_TABLE
from projections.relay.consumer import event_queue
from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import PASSWORD, authenticated, login
from tests.logs import json_lines
from tests.rabbit import received, relayed, virtual_host

pytestmark = pytest.mark.e2e


def test_a_request_id_reaches_the_log_the_events_and_the_published_messages(tmp_path: Path) -> None:
    request_id = f"some-id-{uuid.uuid4().hex[:8]}"
    conninfo = create_database()
    try:
        with virtual_host() as (_, url):
            queue = event_queue(f"correlation-{uuid.uuid4().hex[:6]}")
            with Connection(url) as conn:
                queue(conn.default_channel).declare()
            env = {"DATABASE_URL": conninfo, "FISCAFLOW_MODE": "production", "RABBITMQ_URL": url,
                   "FISCAFLOW_JWT_SECRET": secrets.token_urlsafe(36)}  # fmt: skip
            server = Server(env, tmp_path / "server.log")
            try:
                email = f"corr-{uuid.uuid4().hex[:8]}@example.org"
                body = {"email": email, "password": PASSWORD, "display_name": "Cor"}
                assert httpx.post(f"{server.url}/api/v1/users/register", json=body).status_code == 202
                token = login(server.url, email).json()["access_token"]
                with authenticated(server.url, token) as client:
                    opened = client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"})
                    assert opened.status_code == 201, opened.text
                    entry = {"kind": "income", "account_id": opened.json()["id"], "amount": "12.34",
                             "date": "2026-11-02", "description": "Salary"}  # fmt: skip
                    recorded = client.post(
                        "/api/v1/transactions", json=entry, headers={"X-Request-ID": request_id}
                    )
                    assert recorded.status_code == 201, recorded.text
                    assert recorded.headers["X-Request-ID"] == request_id
                relayed(conninfo)
                messages = received(url, queue)
                with psycopg.connect(conninfo) as conn:
                    stored = conn.execute(
                        f"SELECT count(*) FROM {EVENTS_TABLE}"
                        " WHERE metadata::jsonb ->> 'correlation_id' = %s",
                        (request_id,),
                    ).fetchone()
            finally:
                assert server.stop() == 0
    finally:
        drop_database(conninfo)

    assert stored == (2,)  # the transaction's and its account's events
    ours = [(b, p) for b, p in messages if b["correlation_id"] == request_id]
    assert {b["type"] for b, _ in ours} == {"Transaction.Recorded", "Account.PostingApplied"}
    assert {(b["command"], p["correlation_id"]) for b, p in ours} == {("recordTransaction", request_id)}
    assert all(b["correlation_id"] != request_id for b, _ in messages if b["type"] == "Account.Opened")

    lines = json_lines(server.log_path.read_text())
    (access,) = [line for line in lines if line.get("correlation_id") == request_id]
    assert access["logger"] == "fiscaflow.access"
    assert access["event"].startswith("POST /api/v1/transactions 201 ")
