"""Right to erasure by crypto-shredding, end to end (RELIABILITY.md, "Erasure").

20 users with personal-data canaries (their email, display name, a renamed display name,
an invitation sent to their address) use the API; 10 are erased by an admin over HTTP.
Then: replayed events of the erased show the mask in every personal field and the other
10 are intact; balances and stored events up to the erasure are unchanged and the hash
chain still verifies; a raw scan of the events table, every read model, the messages the
relay published to RabbitMQ and the server's log finds no plaintext canary of the erased;
a full rebuild of the directory does not bring them back.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from kombu import Connection

from commands.audit import verify
from ledger.personal import ERASED, PERSONAL
from ledger.transcodings import event_mapper
from projections.base import EVENTS_TABLE, NOTIFICATION_COLUMNS, notification
from projections.keys import over
from projections.relay.consumer import EventConsumer, MemorySeen, event_queue
from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import Member, authenticated, login, sign_up
from tests.rabbit import relayed, virtual_host

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

PEOPLE = 20


@dataclass
class Person:
    member: Member
    name: str
    renamed: str
    account: str

    @property
    def canaries(self) -> tuple[str, str, str]:
        return self.member.email, self.name, self.renamed


@dataclass
class World:
    server: Server
    conninfo: str
    people: list[Person]
    erased: list[Person]
    kept: list[Person]
    stored_before: dict[int, str]  # position -> sha256 of the stored row, before the erasure
    balances_before: dict[str, str]
    messages: list[str]
    clients: list[httpx.Client]


def run_cli(conninfo: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", *args],
        env=os.environ | {"DATABASE_URL": conninfo},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def stored_rows(conninfo: str) -> dict[int, str]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state FROM {EVENTS_TABLE}"
        ).fetchall()
    return {row[0]: hashlib.sha256(repr(row[1:]).encode()).hexdigest() for row in rows}


def balances(conninfo: str) -> dict[str, str]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute("SELECT account_id::text, balance::text FROM read_accounts.accounts").fetchall()
    return dict(rows)  # type: ignore[arg-type]


def published(conninfo: str, url: str, queue: Any) -> list[str]:
    """What the server's relay has published to RabbitMQ so far (all of the log), as text."""
    relayed(conninfo)
    arrived: list[str] = []
    with Connection(url) as conn:
        EventConsumer(conn, queue, lambda event, _: arrived.append(repr(event)), MemorySeen()).drain(idle=1.0)
    return arrived


def read_models_text(conninfo: str) -> str:
    """Every row of every table outside the event store, as text (the raw-scan haystack)."""
    with psycopg.connect(conninfo) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            " AND table_schema NOT IN ('pg_catalog', 'information_schema', 'eventstore', 'keyvault')"
        ).fetchall()
        assert any(schema == "read_directory" for schema, _ in tables)
        texts = []
        for schema, table in tables:
            query = psycopg.sql.SQL("SELECT t::text FROM {}.{} t").format(
                psycopg.sql.Identifier(schema), psycopg.sql.Identifier(table)
            )
            texts.extend(row[0] for row in conn.execute(query))
    return "\n".join(texts)


def wait_until_projected(client: httpx.Client, token: int) -> None:
    answer = client.get("/api/v1/accounts", params={"after": token})
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    conninfo = create_database()
    log: Path = tmp_path_factory.mktemp("erasure") / "server.log"
    try:
        with virtual_host() as (_, url):
            queue = event_queue(f"erasure-{uuid.uuid4().hex[:6]}")
            with Connection(url) as conn:
                queue(conn.default_channel).declare()
            env = {"DATABASE_URL": conninfo, "FISCAFLOW_MODE": "development",
                   "FISCAFLOW_RATE_LIMIT": "100000", "RABBITMQ_URL": url}  # fmt: skip
            server = Server(env, log)
            try:
                built = build(server, conninfo, url, queue)
                yield built
                for client in built.clients:
                    client.close()
            finally:
                if server.process.poll() is None:
                    server.stop()
    finally:
        drop_database(conninfo)


def build(server: Server, conninfo: str, url: str, queue: Any) -> World:
    people = []
    for n in range(PEOPLE):
        tag = uuid.uuid4().hex[:12]
        member = sign_up(server.url, f"Canary{tag}", f"canary{tag}@example.org")
        renamed = f"Renamed{tag}"
        assert member.client.put("/api/v1/users/profile", json={"display_name": renamed}).status_code == 200
        account = member.client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()[
            "id"
        ]
        recorded = member.client.post(
            "/api/v1/transactions",
            json={"kind": "income", "account_id": account, "amount": f"{n + 1}.25", "date": "2026-11-02",
                  "description": f"Salary {tag}"},
        )  # fmt: skip
        assert recorded.status_code == 201, recorded.text
        people.append(Person(member, f"Canary{tag}", renamed, account))
    last = 0
    for n, person in enumerate(people):  # each invites the next one's address
        invited = person.member.client.post(
            f"/api/v1/households/{person.member.household_id}/invitations",
            json={"email": people[(n + 1) % PEOPLE].member.email},
        )
        assert invited.status_code == 201, invited.text
        last = max(last, invited.json()["consistency_token"])
    admin = sign_up(server.url, "Admin")
    made = run_cli(conninfo, "users", "set-role", admin.email, "admin")
    assert made.returncode == 0, made.stderr
    staff = authenticated(server.url, login(server.url, admin.email).json()["access_token"])
    wait_until_projected(staff, last)
    messages = published(conninfo, url, queue)  # while every key exists
    stored_before, balances_before = stored_rows(conninfo), balances(conninfo)
    erased, kept = people[::2], people[1::2]
    for person in erased:
        answer = staff.post(f"/api/v1/users/{person.member.user_id}/erasure")
        assert answer.status_code == 200, answer.text
        last = max(last, answer.json()["consistency_token"])
    again = staff.post(f"/api/v1/users/{erased[0].member.user_id}/erasure")
    assert again.status_code == 200, again.text  # repeating an erasure is harmless
    wait_until_projected(staff, last)
    messages += published(conninfo, url, queue)
    clients = [p.member.client for p in people] + [admin.client, staff]
    return World(server, conninfo, people, erased, kept, stored_before, balances_before, messages, clients)


def test_replayed_events_mask_the_erased_and_keep_the_others(world: World) -> None:
    seen: dict[str, list[str]] = {}
    with psycopg.connect(world.conninfo) as conn:
        mapper = event_mapper(over(conn))
        rows = conn.execute(
            f"SELECT {NOTIFICATION_COLUMNS} FROM {EVENTS_TABLE} ORDER BY notification_id"
        ).fetchall()
        for row in rows:
            event = mapper.to_domain_event(notification(row))
            if row[3] in PERSONAL:
                for field in PERSONAL[row[3]].fields:
                    seen.setdefault(row[3] + ":" + field, []).append(str(vars(event)[field]))
    registered = seen["ledger.user:User.Registered:email"]
    for person in world.erased:
        assert all(canary not in values for canary in person.canaries for values in seen.values())
    for person in world.kept:
        assert person.member.email in registered
        assert person.name in seen["ledger.user:User.Registered:display_name"]
        assert person.renamed in seen["ledger.user:User.ProfileUpdated:display_name"]
        assert person.member.email in seen["ledger.household:Household.MemberInvited:email"]
        assert person.member.email in seen["ledger.user:EmailClaim.Claimed:email"]
    masked = {field: values.count(ERASED) for field, values in seen.items()}
    erased = len(world.erased)
    assert masked["ledger.user:User.Registered:email"] == erased
    assert masked["ledger.user:User.Registered:display_name"] == erased
    assert masked["ledger.user:User.Registered:password_hash"] == erased
    assert masked["ledger.user:User.ProfileUpdated:display_name"] == erased
    assert masked["ledger.user:EmailClaim.Claimed:email"] == erased
    assert masked["ledger.household:Household.MemberInvited:email"] == erased


def test_amounts_positions_and_hashes_are_unchanged(world: World) -> None:
    after = stored_rows(world.conninfo)
    assert {p: after[p] for p in world.stored_before} == world.stored_before  # not one byte rewritten
    assert len(after) > len(world.stored_before)  # the erasures are events of their own
    assert balances(world.conninfo) == world.balances_before
    assert verify(world.conninfo).ok


def test_no_plaintext_canary_of_the_erased_anywhere(world: World) -> None:
    with psycopg.connect(world.conninfo) as conn:
        raw = b"\n".join(bytes(row[0]) for row in conn.execute(f"SELECT state FROM {EVENTS_TABLE}"))
    models = read_models_text(world.conninfo)
    published = "\n".join(world.messages)
    assert len(world.messages) > 100
    for person in world.kept:  # the haystacks hold what they should: the scan can find things
        assert person.renamed in models and person.member.email in models
        assert f"Salary {person.member.email[6:18]}".encode() in raw
    for person in world.people:  # encrypted in the log, left out of messages: nobody's in plain
        for canary in person.canaries:
            assert canary.encode() not in raw, canary
            assert canary not in published, canary
    for person in world.erased:
        for canary in person.canaries:
            assert canary not in models, canary


def test_the_history_api_shows_the_erased_as_erased(world: World) -> None:
    staff = world.clients[-1]  # the admin's
    gone, kept = world.erased[1], world.kept[1]
    history = staff.get(f"/api/v1/audit/aggregates/{gone.member.user_id}/history").json()
    assert history[0]["event"]["data"]["email"] == ERASED
    assert history[0]["state"]["display_name"] == ERASED
    assert history[-1]["event"]["type"] == "User.Erased"
    history = staff.get(f"/api/v1/audit/aggregates/{kept.member.user_id}/history").json()
    assert history[-1]["state"]["display_name"] == kept.renamed
    assert history[0]["event"]["data"]["email"] == kept.member.email


def test_logs_and_a_full_rebuild_do_not_bring_them_back(world: World) -> None:
    assert world.server.stop() == 0  # the log is complete
    log = world.server.log_path.read_text()
    assert len(log) > 1000
    for person in world.people:
        for canary in person.canaries:
            assert canary not in log, canary
    rebuilt = run_cli(world.conninfo, "rebuild", "directory")
    assert rebuilt.returncode == 0, rebuilt.stderr
    models = read_models_text(world.conninfo)
    for person in world.erased:
        for canary in person.canaries:
            assert canary not in models, canary
    for person in world.kept:
        assert person.renamed in models and person.member.email in models
