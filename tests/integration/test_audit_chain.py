"""The tamper-evident event log: each kind of tampering, really done to the rows as a
database superuser, is found and named by the verifier; the application's role cannot
change the log at all."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import SQL, Identifier

from commands.audit import checkpoint, verify
from commands.audit_chain import APP_ROLE_GRANTS
from tests.conftest import ADMIN_URL
from tests.integration.helpers import Books

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
SEQUENCE = "pg_get_serial_sequence('eventstore.fiscaflow_events', 'notification_id')"


@pytest.fixture
def history(database: str) -> str:
    """30 incomes checkpointed (with one gap in the positions, as an aborted append leaves),
    then 5 more after the checkpoint."""
    books = Books(database)
    household = uuid.uuid4()
    accounts = [books.open(household, f"A{n}") for n in range(3)]
    for n in range(30):
        books.record(household, "income", accounts[n % 3], f"{n + 1}.00")
        if n == 10:
            with psycopg.connect(database, autocommit=True) as conn:
                conn.execute(f"SELECT nextval({SEQUENCE})")
    assert checkpoint(database) > 0
    for n in range(5):
        books.record(household, "income", accounts[0], f"{n + 100}.00")
    books.close()
    return database


def tamper(database: str, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """As a superuser with the triggers off: what an attacker with the database could do."""
    with psycopg.connect(database, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for statement, params in statements:
            conn.execute(statement, params)  # type: ignore[arg-type]


def event_at(database: str, position: int) -> tuple[Any, ...]:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT originator_id, originator_version, state FROM eventstore.fiscaflow_events"
            " WHERE notification_id = %s",
            (position,),
        ).fetchone()
    assert row is not None
    return row


def test_an_untouched_log_verifies(history: str) -> None:
    report = verify(history)
    assert report.ok, report.findings
    assert (report.events, report.checkpoints) == (3 + 30 * 2 + 5 * 2, 1)


def test_a_modified_event_is_named(history: str) -> None:
    state = bytes(event_at(history, 20)[2]).replace(b'"', b"'", 1)
    tamper(
        history, ("UPDATE eventstore.fiscaflow_events SET state = %s WHERE notification_id = 20", (state,))
    )
    found = verify(history).first("modified")
    assert found is not None and found.position == 20
    cli = subprocess.run(
        [sys.executable, "-m", "ops", "audit", "verify"],
        env={"DATABASE_URL": history, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert cli.returncode == 1
    assert "modified at position 20" in cli.stdout + cli.stderr


def test_a_modified_event_with_its_chain_recomputed_is_caught_by_the_checkpoint(history: str) -> None:
    aggregate, version, state = event_at(history, 20)
    forged = bytes(state).replace(b"1", b"2", 1)
    tamper(history, (
        "UPDATE eventstore.fiscaflow_events SET state = %s,"
        " event_hash = eventstore.event_hash(coalesce((SELECT p.event_hash FROM eventstore.fiscaflow_events p"
        "   WHERE p.originator_id = %s AND p.originator_version = %s), '\\x00'::bytea),"
        "   originator_id, originator_version, topic, %s, metadata, recorded_at)"
        " WHERE notification_id = 20",
        (forged, aggregate, version - 1, forged),
    ))  # fmt: skip
    report = verify(history)
    found = report.first("modified")
    assert found is not None and found.position == 20


def test_a_deleted_event_is_named(history: str) -> None:
    tamper(history, ("DELETE FROM eventstore.fiscaflow_events WHERE notification_id = 30", ()))
    found = verify(history).first("deleted")
    assert found is not None and found.position == 30


def test_an_inserted_event_is_named(history: str) -> None:
    with psycopg.connect(history) as conn:
        gap = conn.execute(
            "SELECT s FROM generate_series(1, (SELECT max(up_to) FROM eventstore.checkpoints)) s"
            " WHERE s NOT IN (SELECT notification_id FROM eventstore.fiscaflow_events)"
        ).fetchone()
    assert gap is not None
    forged = uuid.uuid4()
    tamper(history, (
        "INSERT INTO eventstore.fiscaflow_events (originator_id, originator_version, topic, state,"
        " notification_id, event_hash) VALUES (%s, 1, 'ledger.account:Account.Opened', '{}', %s,"
        " eventstore.event_hash('\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,"
        " %s, 1, 'ledger.account:Account.Opened', '{}', NULL, now()))",
        (forged, gap[0], forged),
    ))  # fmt: skip
    found = verify(history).first("inserted")
    assert found is not None and found.position == gap[0]


def test_reordered_events_are_named(history: str) -> None:
    tamper(
        history,
        ("UPDATE eventstore.fiscaflow_events SET notification_id = -1 WHERE notification_id = 25", ()),
        ("UPDATE eventstore.fiscaflow_events SET notification_id = 25 WHERE notification_id = 40", ()),
        ("UPDATE eventstore.fiscaflow_events SET notification_id = 40 WHERE notification_id = -1", ()),
    )
    found = verify(history).first("reordered")
    assert found is not None and found.position == 25


def test_the_application_role_may_append_but_never_change_the_log(history: str) -> None:
    role = f"fiscaflow_app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(history, autocommit=True) as conn:
        conn.execute(SQL("CREATE ROLE {} LOGIN").format(Identifier(role)))
        for statement in APP_ROLE_GRANTS.split(";"):
            conn.execute(
                SQL(statement).format(  # type: ignore[arg-type]
                    schema=Identifier("eventstore"),
                    table=Identifier("fiscaflow_events"),
                    role=Identifier(role),
                )
            )
    params = conninfo_to_dict(history) | {"user": role}
    try:
        with psycopg.connect(make_conninfo(**params), autocommit=True) as app:
            for statement in (
                "UPDATE eventstore.fiscaflow_events SET topic = 'x' WHERE notification_id = 1",
                "DELETE FROM eventstore.fiscaflow_events WHERE notification_id = 1",
                "TRUNCATE eventstore.fiscaflow_events",
                "DELETE FROM eventstore.checkpoints",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    app.execute(statement)  # type: ignore[arg-type]
        books = Books(make_conninfo(**params), create_tables=False)  # the application as that role
        household = uuid.uuid4()
        books.record(household, "income", books.open(household), "1.00")
        subject = uuid.uuid4()  # the role makes, reads and erases personal-data keys
        key_id, _ = books.ledger.keys.writing_key(subject)
        assert books.ledger.keys.reading_key(key_id) is not None
        assert books.ledger.keys.erase([subject], []) == 1
        books.close()
        assert verify(history).ok
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(SQL("REASSIGN OWNED BY {} TO postgres").format(Identifier(role)))
        with psycopg.connect(history, autocommit=True) as conn:
            conn.execute(SQL("DROP OWNED BY {}").format(Identifier(role)))
            conn.execute(SQL("DROP ROLE {}").format(Identifier(role)))
