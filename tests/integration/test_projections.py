"""Projectors on the real PostgreSQL: exactly-once across stops and crashes, rebuilds."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import threading
import uuid
from collections.abc import Iterator
from functools import singledispatchmethod
from typing import Any, ClassVar

import psycopg
import pytest

from commands.budgets import BudgetCommands
from commands.goals import GoalCommands
from commands.messages import (
    ActionsBody,
    AddCategory,
    ChangeBudget,
    ChangeGoal,
    CreateBudget,
    CreateGoal,
    EditTransaction,
    MergeCategory,
    Reason,
    RenameCategory,
    RuleBody,
    TriggerBody,
)
from ledger.errors import DomainError
from ledger.household import Household
from ledger.transaction import Transaction
from ledger.user import User
from projections.accounts.projection import AccountsProjection
from projections.base import Projection
from projections.rebuild import prepare, rebuild
from projections.registry import PROJECTIONS
from projections.runner import ProjectionFailedError, ProjectionRunner
from projections.transactions.projection import TransactionsProjection
from tests.integration.helpers import Books, dump
from tests.integration.planning_history import plan

pytestmark = pytest.mark.integration

TABLES = {
    "accounts": [("accounts", "account_id"), ("postings", "transaction_id, line")],
    "transactions": [("transactions", "transaction_id")],
    "directory": [("users", "user_id"), ("households", "household_id"), ("members", "household_id, user_id")],
    "categories": [
        ("books", "book_id"),
        ("categories", "household_id, name"),
        ("rules", "rule_id"),
        ("rule_runs", "run_id"),
    ],
    "budgets": [("budgets", "budget_id"), ("alerts", "alert_id")],
    "budget_alerts": [
        ("budgets", "budget_id"),
        ("books", "book_id"),
        ("tree", "household_id, name"),
        ("expenses", "transaction_id"),
        ("crossed", "budget_id, period_start, threshold"),
        ("outbox", "alert_id"),
    ],
    "goals": [("goals", "goal_id")],
    "schedules": [("schedules", "schedule_id"), ("occurrences", "schedule_id, due")],
    "balance_monitors": [("balances", "account_id"), ("monitors", "monitor_id"), ("outbox", "alert_id")],
    "notifications": [
        ("members", "household_id, user_id"),
        ("budgets", "budget_id"),
        ("preferences", "settings_id"),
        ("webhooks", "webhook_id"),
        ("inbox", "household_id, user_id, notification_id"),
    ],
    "settlement": [
        ("books", "household_id"),
        ("shares", "household_id, transaction_id"),
        ("share_parts", "household_id, transaction_id, member_id"),
        ("incomes", "household_id, member_id"),
        ("settle_ups", "household_id, settlement_id"),
    ],
}


def fill(books: Books, seed: int, count: int = 120) -> None:
    """A household's random history: incomes, expenses, transfers, edits, cancels."""
    rng = random.Random(seed)
    household, *people = add_people(books, rng)
    accounts = [books.open(household, f"A{n}") for n in range(3)]
    recorded = []
    for n in range(count):
        kind = rng.choice(["income", "expense", "transfer"])
        account = rng.choice(accounts)
        category = rng.choice(["food", "rent", "Garden", None])
        fields: dict[str, Any] = {"description": f"entry {n}", "category": category}
        if kind == "transfer":
            fields = {"to_account_id": rng.choice([a for a in accounts if a != account])}
        recorded.append(
            books.record(
                household, kind, account, f"{rng.randint(1, 5000)}.{rng.randint(0, 99):02d}", **fields
            )
        )
        if rng.random() < 0.1:
            victim = rng.choice(recorded)
            with contextlib.suppress(DomainError):  # already cancelled
                books.transactions.cancel(household, victim, Reason(reason="test"), None)
        if rng.random() < 0.1:
            victim = rng.choice(recorded)
            with contextlib.suppress(DomainError):
                books.transactions.edit(
                    household, victim, EditTransaction(date=dt.date(2026, 1, n % 28 + 1)), None
                )

        if n == count // 2:  # the category book changes half way: later entries follow it
            rule = RuleBody(
                name="Entries",
                triggers=[TriggerBody(field="description", op="ends_with", value="7")],
                actions=ActionsBody(set_category="rent", add_tags=["seven"]),
            )
            books.categories.save_rule(household, None, rule)
            with contextlib.suppress(DomainError):  # recorded already, or not yet
                books.categories.add(household, AddCategory(name="Garden"))
            books.categories.rename(household, "Garden", RenameCategory(name="Yard"))
            books.categories.add(household, AddCategory(name="Extras", parent="food"))
            books.categories.merge(household, "Extras", MergeCategory(into="rent"))
            books.categories.archive(household, "books")
            budgets = BudgetCommands(books.ledger)
            food = budgets.create(
                household,
                CreateBudget(name="Food", categories=["food"], limit="900.00", currency="EUR", rollover=True),
                None,
            ).id
            budgets.change(household, food, ChangeBudget(limit="700.00", thresholds=[10, 60]), None, None)
            spare = budgets.create(
                household, CreateBudget(name="Spare", categories=["Yard"], limit="5.00", currency="EUR"), None
            ).id
            budgets.delete(household, spare, None, None)
            goals = GoalCommands(books.ledger)
            goal = goals.create(
                household,
                CreateGoal(name="Trip", target="3000.00", currency="EUR", account_ids=accounts[:2]),
                None,
            ).id
            goals.change(household, goal, ChangeGoal(target="3500.00"), None, None)
            plan(books, household, (people[0], people[1]), accounts, recorded, food)


def add_people(books: Books, rng: random.Random) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """Two users sharing a household, with a profile change and a role change."""
    owner = User.register(f"owner{rng.random()}@example.org", "Owner", "argon2-hash")
    partner = User.register(f"partner{rng.random()}@example.org", "Partner", "argon2-hash")
    household = Household.create("Home", owner.id)
    invitation = uuid.uuid4()
    household.invite(invitation, partner.email, "family_member", owner.id)
    household.join(invitation, partner.id, partner.email)
    household.change_member_role(partner.id, "read_only", owner.id)
    partner.update_profile("Partner P.")
    owner.record_login("client")
    books.ledger.save(owner, partner, household)
    return household.id, owner.id, partner.id


def snapshot(conninfo: str, name: str, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    return {table: dump(conninfo, schema, table, order) for table, order in TABLES[name]}


def full_rebuild(
    database: str, projection: type[Projection], schema: str
) -> dict[str, list[tuple[Any, ...]]]:
    """The read model built from position 0 in a private schema, for comparison."""
    reference = ProjectionRunner(projection, database, schema=schema, lock=False)
    reference.catch_up()
    reference.close()
    return snapshot(database, projection.name, schema)


@pytest.fixture
def books(database: str) -> Iterator[Books]:
    books = Books(database)
    yield books
    books.close()


@pytest.mark.reliability
@pytest.mark.parametrize("name", sorted(PROJECTIONS))
def test_a_projector_stopped_mid_stream_and_restarted_equals_a_full_rebuild(
    books: Books, database: str, name: str
) -> None:
    fill(books, seed=7)
    projection = PROJECTIONS[name]
    partial = ProjectionRunner(projection, database, batch_size=37)
    partial.run_batch()
    partial.run_batch()
    assert partial.position() == 74
    partial.close()  # stopped mid-stream
    restarted = ProjectionRunner(projection, database, batch_size=37)
    restarted.catch_up()
    restarted.close()

    reference = ProjectionRunner(projection, database, schema=f"reference_{name}", lock=False)
    reference.catch_up()
    reference.close()
    assert snapshot(database, name, projection.default_schema()) == snapshot(
        database, name, f"reference_{name}"
    )


class Crashing:
    """A projection that fails on the ``crash_at``-th recorded transaction it sees, as a
    process crash mid-batch would (once: the count goes on across batches)."""

    crash_at: ClassVar[int]
    seen: ClassVar[int] = 0

    def apply(self, event: Any, curs: Any) -> None:
        if isinstance(event, Transaction.Recorded):
            type(self).seen += 1
            if type(self).seen == self.crash_at:
                raise RuntimeError("crash")
        super().apply(event, curs)  # type: ignore[misc]


class CrashingProjection(Crashing, AccountsProjection):
    name = "accounts"
    crash_at = 5


class CrashingList(Crashing, TransactionsProjection):
    """The transactions list fails after a first statement of 50 buffered rows was sent."""

    name = "transactions"
    crash_at = 60


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("crashing_type", "name"),
    [(CrashingProjection, "accounts"), (CrashingList, "transactions")],
    ids=["accounts", "transactions"],
)
def test_a_crash_mid_batch_applies_nothing_twice(
    books: Books, database: str, crashing_type: type[Projection], name: str
) -> None:
    fill(books, seed=3, count=80)
    crashing = ProjectionRunner(crashing_type, database, batch_size=1000)
    with pytest.raises(ProjectionFailedError, match="failed on event"):
        crashing.run_batch()
    assert crashing.position() == 0  # the whole batch rolled back with its tracking
    crashing.catch_up()  # the same runner goes on: what it had buffered before the crash is gone
    crashing.close()
    assert snapshot(database, name, f"read_{name}") == full_rebuild(database, PROJECTIONS[name], "reference")


@pytest.mark.parametrize("name", ["accounts", "transactions"])
def test_batches_of_one_event_and_of_500_build_the_same_read_model(
    books: Books, database: str, name: str
) -> None:
    """Buffered writes (the accounts' postings and balance changes, written once per batch
    or before the next event of another kind) change nothing but the speed."""
    fill(books, seed=11)
    one_by_one = ProjectionRunner(PROJECTIONS[name], database, schema="one_by_one", lock=False, batch_size=1)
    one_by_one.catch_up()
    one_by_one.close()
    assert snapshot(database, name, "one_by_one") == full_rebuild(database, PROJECTIONS[name], "reference")


@pytest.mark.reliability
def test_two_runners_of_one_projection_never_apply_an_event_twice(books: Books, database: str) -> None:
    fill(books, seed=11, count=80)
    runners = [ProjectionRunner(AccountsProjection, database, batch_size=7) for _ in range(2)]
    threads = [threading.Thread(target=r.catch_up) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in runners:
        r.close()
    assert snapshot(database, "accounts", "read_accounts") == full_rebuild(
        database, AccountsProjection, "reference"
    )


def test_rebuild_swaps_in_a_read_model_equal_to_the_incremental_one(books: Books, database: str) -> None:
    fill(books, seed=5, count=60)
    incremental = ProjectionRunner(PROJECTIONS["transactions"], database, batch_size=10)
    incremental.catch_up()
    before = snapshot(database, "transactions", "read_transactions")
    seen: list[tuple[int, int]] = []
    count = rebuild(PROJECTIONS["transactions"], database, lambda done, total: seen.append((done, total)))
    assert count == incremental.position()
    assert seen[-1][0] == seen[-1][1] == count  # progress reached the end
    assert snapshot(database, "transactions", "read_transactions") == before
    # The projector that was running goes on writing into the swapped-in tables.
    fill(books, seed=6, count=5)
    incremental.catch_up()
    incremental.close()
    with psycopg.connect(database) as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'read_%'")}
        rows = conn.execute("SELECT count(*) FROM read_transactions.transactions").fetchone()
    assert schemas == {"read_transactions"}
    assert rows == (65 + 2 * 3,)  # each fill's plan adds two scheduled rents and a settle-up transfer


def test_an_event_a_projection_cannot_handle_stops_it_at_that_event(books: Books, database: str) -> None:
    books.open(uuid.uuid4())

    class Incomplete(AccountsProjection):
        name = "incomplete"

        @singledispatchmethod
        def apply(self, event: object, curs: Any) -> None:
            self.unexpected(event)

    runner = ProjectionRunner(Incomplete, database)
    with pytest.raises(ProjectionFailedError, match=r"failed on event 1 \(ledger.account:Account.Opened"):
        runner.catch_up()
    assert runner.position() == 0
    runner.close()


def test_a_read_model_of_an_older_schema_version_is_rebuilt_at_start_up(books: Books, database: str) -> None:
    fill(books, seed=9, count=20)
    projection = PROJECTIONS["transactions"]
    assert prepare(projection, database) is False  # new: created, nothing to rebuild
    runner = ProjectionRunner(projection, database)
    runner.catch_up()
    runner.close()
    with psycopg.connect(database) as conn:  # as if an older release had built it
        conn.execute("UPDATE read_transactions.tracking SET schema_version = 1")
        conn.execute("UPDATE read_transactions.transactions SET reconciled = true")  # a column v1 lacked
    assert prepare(projection, database) is True
    assert prepare(projection, database) is False  # now current
    with psycopg.connect(database) as conn:
        version = conn.execute("SELECT schema_version FROM read_transactions.tracking").fetchone()
    assert version == (projection.schema_version,)
    assert snapshot(database, "transactions", "read_transactions") == full_rebuild(
        database, projection, "reference"
    )


class StopSignalledProjection(AccountsProjection):
    """Raises the stop flag (as SIGTERM does) while applying the 3rd transaction it sees."""

    name = "accounts"
    seen = 0
    stopping = threading.Event()

    @singledispatchmethod
    def apply(self, event: object, curs: Any) -> None:
        if isinstance(event, Transaction.Recorded):
            StopSignalledProjection.seen += 1
            if StopSignalledProjection.seen == 3:
                StopSignalledProjection.stopping.set()
        super().apply(event, curs)


def test_a_stopping_projector_stops_after_the_current_event_with_it_tracked(
    books: Books, database: str
) -> None:
    fill(books, seed=5, count=20)
    runner = ProjectionRunner(StopSignalledProjection, database, batch_size=1000)
    runner.run_until(StopSignalledProjection.stopping, poll_interval=0.05)
    stopped_at = runner.position()
    runner.close()
    with psycopg.connect(database) as conn:
        third = conn.execute(
            "SELECT notification_id FROM eventstore.fiscaflow_events WHERE topic = %s"
            " ORDER BY notification_id OFFSET 2 LIMIT 1",
            ("ledger.transaction:Transaction.Recorded",),
        ).fetchone()
        head = conn.execute("SELECT max(notification_id) FROM eventstore.fiscaflow_events").fetchone()
    assert third is not None and head is not None
    assert stopped_at == third[0] < head[0]  # the event under way was finished, nothing after it
    resumed = ProjectionRunner(AccountsProjection, database)
    resumed.catch_up()
    resumed.close()
    assert snapshot(database, "accounts", "read_accounts") == full_rebuild(
        database, AccountsProjection, "reference"
    )


def test_a_pipelined_batch_still_refuses_an_update_that_finds_no_row(books: Books, database: str) -> None:
    """Accounts are projected with pipelined batches: the check that an update changed its
    one row waits for the batch to be sent, and still stops the projection there."""
    household = uuid.uuid4()
    account = books.open(household)
    runner = ProjectionRunner(AccountsProjection, database)
    runner.catch_up()
    with psycopg.connect(database, autocommit=True) as conn:  # a read model that lost a row
        conn.execute("DELETE FROM read_accounts.accounts WHERE account_id = %s", (account,))
    before = runner.position()
    books.record(household, "income", account, "5.00")
    with pytest.raises(ProjectionFailedError, match="is not in the read model"):
        runner.run_batch()
    assert runner.position() == before  # the batch rolled back with its tracking
    runner.close()


def test_recorded_transactions_reach_the_list_with_every_value_exact(books: Books, database: str) -> None:
    """The transactions list inserts a batch's recorded transactions as one JSON document
    (json_populate_recordset): text with quotes, backslashes, braces and other scripts,
    tags, trailing zeros of amounts and microseconds of times arrive unchanged."""
    household = uuid.uuid4()
    checking, savings = books.open(household, "Checking"), books.open(household, "Savings")
    texts = ['Caf\u00e9 "Zum L\u00f6wen" \\ {1,2}', "\u65e5\u672c\u306e\u5e97 \U0001f600", "NULL", "a,b"]
    tags = ["{x}", 'say "hi"', "NULL", "\u00fcber"]
    fields = {
        "description": texts[0],
        "merchant": texts[1],
        "category": "food",
        "tags": tags,
        "notes": texts[2],
    }
    expense = books.record(household, "expense", checking, "1234567890.10", **fields)
    income = books.record(household, "income", checking, "0.50", description=texts[3])
    transfer = books.record(household, "transfer", checking, "7.00", to_account_id=savings)
    runner = ProjectionRunner(PROJECTIONS["transactions"], database)
    runner.catch_up()
    runner.close()
    columns = (
        "kind, description, merchant, category, notes, amount::text, currency, account_id, to_account_id,"
        " account_ids, recorded_at, categorization_source, confidence"
    )
    with psycopg.connect(database) as conn:
        rows = {
            row[0]: row[1:]
            for row in conn.execute(
                f"SELECT transaction_id, tags, {columns} FROM read_transactions.transactions"
            )
        }
    at = {t: books.ledger.repository.get(t).created_on for t in (expense, income, transfer)}
    assert sorted(rows[expense][0]) == sorted(tags)
    assert rows[expense][1:] == (
        "expense", *texts[:2], "food", texts[2], "1234567890.10", "EUR", checking, None, [checking],
        at[expense], "manual", 1,
    )  # fmt: skip
    assert rows[income] == (
        [], "income", texts[3], None, None, None, "0.50", "EUR", checking, None, [checking],
        at[income], None, None,
    )  # fmt: skip
    assert rows[transfer][1] == "transfer" and rows[transfer][6:9] == ("7.00", "EUR", checking)
    assert (rows[transfer][9], sorted(rows[transfer][10])) == (savings, sorted([checking, savings]))
    assert rows[transfer][11] == at[transfer]
