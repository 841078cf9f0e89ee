"""`fiscaflow replay` against the real PostgreSQL: after normal use every read model equals
its replay; a read-model row tampered with as a superuser is reported, and only it; --to
refuses positions where the live model cannot be compared; nothing of a replay lasts."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from commands.messages import EditTransaction, Reason
from ops.replay import replay
from projections.accounts.projection import AccountsProjection
from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner
from tests.integration.helpers import Books
from tests.integration.test_cli import fiscaflow

pytestmark = pytest.mark.integration


def said(result: Any) -> str:
    return " ".join(result.stderr.split())


def project_all(database: str) -> None:
    for projection in PROJECTIONS.values():
        runner = ProjectionRunner(projection, database)
        runner.catch_up()
        runner.close()


@pytest.fixture
def used(database: str) -> dict[str, Any]:
    """A household's books after ordinary use, every read model up to date."""
    books = Books(database)
    household = uuid.uuid4()
    checking, savings = books.open(household), books.open(household, "Savings")
    books.record(household, "income", checking, "100.00", description="salary")
    groceries = books.record(household, "expense", checking, "12.30", description="market")
    mistake = books.record(household, "expense", savings, "5.00")
    books.transactions.edit(household, groceries, EditTransaction(date=dt.date(2026, 10, 30)), None)
    books.transactions.cancel(household, mistake, Reason(reason="typo"), None)
    books.close()
    project_all(database)
    return {"household": household, "checking": checking, "groceries": groceries}


def superuser(database: str, statement: str, params: tuple[Any, ...]) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        assert conn.execute(statement, params).rowcount == 1


def test_after_normal_use_every_read_model_equals_its_replay(database: str, used: dict[str, Any]) -> None:
    result = fiscaflow("replay", env={"DATABASE_URL": database}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert all(f"{name}: no differences" in said(result) for name in PROJECTIONS)
    with psycopg.connect(database) as conn:
        left = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE '%%__replay'").fetchall()
    assert left == []  # the replays are gone


def test_a_tampered_row_is_reported_and_only_it(database: str, used: dict[str, Any]) -> None:
    superuser(
        database,
        "UPDATE read_accounts.accounts SET name = 'Tampered', balance = 1000 WHERE account_id = %s",
        (used["checking"],),
    )
    superuser(
        database,
        "DELETE FROM read_accounts.postings WHERE transaction_id = %s AND line = 1",
        (used["groceries"],),
    )
    outcome = replay(AccountsProjection, database, None)
    assert outcome.refused is None and outcome.differs
    accounts, postings = (
        next(t for t in outcome.tables if t.table == name) for name in ("accounts", "postings")
    )
    assert [(d["key"]["account_id"], d["columns"]) for d in accounts.different] == [
        (str(used["checking"]), {"balance": [1000, Decimal("87.70")], "name": ["Tampered", "Checking"]})
    ]
    assert (accounts.missing, accounts.extra) == ([], [])
    assert [(r["transaction_id"], r["line"], r["account"]) for r in postings.missing] == [
        (str(used["groceries"]), 1, "expenses:uncategorised")
    ]
    assert (postings.extra, postings.different) == ([], [])
    assert [t.table for t in outcome.tables if not t.empty] == ["accounts", "postings"]

    cli = fiscaflow("replay", "--projection", "accounts", env={"DATABASE_URL": database}, timeout=120)
    assert cli.returncode == 1
    text = said(cli)
    assert "accounts.accounts at position" in text and "0 missing, 0 extra, 1 different" in text
    assert 'name: live "Tampered", replayed "Checking"' in text
    assert "accounts.postings at position" in text and "1 missing, 0 extra, 0 different" in text
    others = fiscaflow("replay", "-p", "transactions", "-p", "budgets", env={"DATABASE_URL": database})
    assert others.returncode == 0, others.stderr


def test_to_compares_only_where_the_live_model_stands(database: str, used: dict[str, Any]) -> None:
    env = {"DATABASE_URL": database}
    ahead = fiscaflow("replay", "--to", "2", "-p", "accounts", env=env)
    assert ahead.returncode == 2 and "ahead of 2 by" in said(ahead) and "omit --to" in said(ahead)
    quiet = fiscaflow("replay", "--to", "2", "-p", "goals", env=env)  # no goal events after 2
    assert quiet.returncode == 0 and "goals: no differences at position 2" in said(quiet)
    past = fiscaflow("replay", "--to", "9999", env=env)
    assert past.returncode == 2 and "past the end of the event log" in said(past)
    books = Books(database)
    books.record(used["household"], "income", used["checking"], "1.00")  # the projectors do not run
    books.close()
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT max(notification_id) FROM eventstore.fiscaflow_events").fetchone()
    assert row is not None
    behind = fiscaflow("replay", "--to", str(row[0]), "-p", "accounts", env=env)
    assert behind.returncode == 2 and "behind" in said(behind) and "not caught up" in said(behind)
    own = fiscaflow("replay", "-p", "accounts", env=env)  # at the live model's own position
    assert own.returncode == 0 and f"position {row[0] - 2}" in said(own)
    unknown = fiscaflow("replay", "-p", "nope", env=env)
    assert unknown.returncode == 2 and "known:" in said(unknown)
    helped = fiscaflow("replay", "--help")
    assert helped.returncode == 0 and "--to" in helped.stdout and "--projection" in helped.stdout
