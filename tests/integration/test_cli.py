"""The `fiscaflow` command line against the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import psycopg
import pytest

from commands.planning_messages import CreateSchedule
from commands.schedules import ScheduleCommands
from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner
from tests.integration.helpers import Books

pytestmark = pytest.mark.integration


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without our settings, plus ``extra``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FISCAFLOW_", "DATABASE_URL"))}
    return environment | (extra or {})


def running(database: str, *args: str) -> subprocess.Popen[str]:
    """A long-running `fiscaflow` command on ``database``; the caller stops it."""
    return subprocess.Popen(
        [sys.executable, "-m", "ops", *args],
        env=clean_env({"DATABASE_URL": database}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def fiscaflow(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", *args],
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    ["serve", "project", "rebuild", "events", "users", "users set-role", "import", "holds expire",
     "categoriser evaluate", "schedules run", "notifications send", "relay run", "search reindex",
     "audit verify", "audit checkpoint"],
)  # fmt: skip
def test_every_command_explains_itself(command: str) -> None:
    result = fiscaflow(*command.split(), "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout and len(result.stdout.splitlines()) > 5


def test_events_prints_the_log_in_order(database: str) -> None:
    books = Books(database)
    household = uuid.uuid4()
    account = books.open(household)
    books.record(household, "income", account, "10.00", description="gift")
    books.close()
    result = fiscaflow("events", "--json", env={"DATABASE_URL": database})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["position"], e["type"]) for e in lines] == [
        (1, "Account.Opened"),
        (2, "Transaction.Recorded"),
        (3, "Account.PostingApplied"),
    ]
    assert lines[1]["data"]["description"] == "gift"
    only = fiscaflow(
        "events", "--json", "--aggregate", str(account), "--since", "1", env={"DATABASE_URL": database}
    )
    assert [json.loads(line)["position"] for line in only.stdout.splitlines()] == [3]
    readable = fiscaflow("events", env={"DATABASE_URL": database})
    assert "Transaction.Recorded" in readable.stdout


def test_rebuild_reports_and_refuses_unknown_names(database: str) -> None:
    books = Books(database)
    books.open(uuid.uuid4())
    books.close()
    result = fiscaflow("rebuild", "accounts", env={"DATABASE_URL": database})
    assert result.returncode == 0, result.stderr
    assert "rebuilt accounts from 1 events" in result.stderr
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM read_accounts.accounts").fetchone() == (1,)
    unknown = fiscaflow("rebuild", "nope", env={"DATABASE_URL": database})
    assert unknown.returncode == 2 and "known:" in unknown.stderr


def test_project_run_follows_the_store_and_stops_on_sigterm(database: str) -> None:
    books = Books(database)
    household = uuid.uuid4()
    account = books.open(household)
    process = running(database, "project", "run", "accounts")
    try:
        books.record(household, "income", account, "7.00")
        deadline = time.monotonic() + 30
        balance = None
        while time.monotonic() < deadline and balance != (7,):
            time.sleep(0.1)
            with psycopg.connect(database) as conn:
                try:
                    balance = conn.execute("SELECT balance::int FROM read_accounts.accounts").fetchone()
                except psycopg.errors.UndefinedTable:
                    balance = None
        assert balance == (7,)
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
        books.close()
    assert process.returncode == 0, errors


STRONG = "k3Jd9-sL2mQ8xV7pR4tY1wZ6nB0cF5hGaE"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"FISCAFLOW_MODE": "production", "DATABASE_URL": "postgresql://x@127.0.0.1/x"},
            "needs FISCAFLOW_JWT_SECRET",
        ),
        ({"FISCAFLOW_MODE": "production", "FISCAFLOW_JWT_SECRET": "changeme"}, "random characters"),
        ({"FISCAFLOW_MODE": "production", "FISCAFLOW_JWT_SECRET": STRONG}, "needs DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}, "cannot reach the database"),
        ({"FISCAFLOW_MODE": "staging"}, "development or production"),
        ({"FISCAFLOW_DB_POOL_SIZE": "many"}, "must be a number"),
    ],
)
def test_bad_or_unsafe_settings_refuse_to_start(env: dict[str, str], message: str) -> None:
    result = fiscaflow("serve", env=env)
    assert result.returncode == 2
    assert message in result.stderr


def test_events_follow_prints_new_events_as_they_come(database: str) -> None:
    books = Books(database)
    household = uuid.uuid4()
    books.open(household)
    follower = running(database, "events", "--follow", "--json")
    try:
        assert follower.stdout is not None
        assert json.loads(follower.stdout.readline())["type"] == "Account.Opened"
        books.open(household, "Later")  # appended while the follower waits
        later = json.loads(follower.stdout.readline())
        assert (later["position"], later["data"]["name"]) == (2, "Later")
    finally:
        follower.send_signal(signal.SIGINT)
        follower.communicate(timeout=30)
        books.close()
    assert follower.returncode == 0


def test_import_reports_and_a_second_run_adds_nothing(database: str, tmp_path: Any) -> None:
    books = Books(database)
    household = uuid.uuid4()
    account = books.open(household)
    books.close()
    statement = tmp_path / "statement.csv"
    statement.write_text(
        "Datum;Betrag;Text\n01.11.2026;-12,50;Bakery\n02.11.2026;1.200,00;Salary\n02.11.2026;x;Bad\n"
    )
    args = ("import", str(statement), "--household", str(household), "--account", str(account),
            "--date-column", "Datum", "--amount-column", "Betrag", "--description-column", "Text",
            "--date-format", "%d.%m.%Y", "--decimal", ",", "--thousands", ".")  # fmt: skip
    first = fiscaflow(*args, env={"DATABASE_URL": database})
    assert first.returncode == 0, first.stderr
    out = first.stdout + first.stderr
    assert "3 lines: 2 added, 0 duplicates, 0 transfers matched, 1 rejected" in " ".join(out.split())
    assert "line 4: 'x' is not an amount" in out
    again = fiscaflow(*args, env={"DATABASE_URL": database})
    assert "2 duplicates" in again.stdout + again.stderr
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT count(*) FROM eventstore.fiscaflow_events WHERE topic LIKE %s", ("%Transaction.Recorded",)
        ).fetchone()
    assert row == (2,)
    statement.write_text("no,columns\n1,2\n")
    malformed = fiscaflow(*args, env={"DATABASE_URL": database})
    assert malformed.returncode == 2
    assert "no column 'Datum'" in malformed.stdout + malformed.stderr


def test_categoriser_evaluate_prints_the_accuracy() -> None:
    result = fiscaflow("categoriser", "evaluate", "--seed", "7")
    assert result.returncode == 0, result.stderr
    assert "accuracy 91.6%" in " ".join((result.stdout + result.stderr).split())


def test_schedules_run_generates_due_occurrences_once(database: str) -> None:
    books = Books(database)
    household = uuid.uuid4()
    account = books.open(household)
    rent = CreateSchedule(name="Rent", account_id=account, amount="900.00", start=dt.date(2026, 1, 1))
    ScheduleCommands(books.ledger, books.transactions, None).create(household, rent, None)  # type: ignore[arg-type]
    books.close()
    runner = ProjectionRunner(PROJECTIONS["schedules"], database)
    runner.catch_up()
    runner.close()
    env = {"DATABASE_URL": database}
    first = fiscaflow("schedules", "run", "--today", "2026-03-01", env=env)
    assert first.returncode == 0, first.stderr
    assert "3 generated" in first.stderr  # the console reports on stderr
    again = fiscaflow("schedules", "run", "--today", "2026-03-01", env=env)
    assert "0 generated" in again.stderr  # the read model is behind; the aggregates are not
    bad = fiscaflow("schedules", "run", "--today", "March", env=env)
    assert bad.returncode == 2 and "--today" in bad.stderr
    sent = fiscaflow("notifications", "send", env=env)
    assert sent.returncode == 0, sent.stderr
    assert "handled 0 deliveries" in sent.stderr
