"""Schedules on the real PostgreSQL: each occurrence generated exactly once, by concurrent
runners and across restarts; bills matched to their payments, and missed ones flagged."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from commands.planning_messages import CreateSchedule
from commands.schedules import ScheduleCommands
from ledger.schedule import occurrence_transaction_id
from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner
from queries.db import ReadStore
from tests.conftest import create_database, drop_database
from tests.integration.helpers import Books

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[tuple[str, Books, ReadStore]]:
    database = create_database()
    books, reads = Books(database), ReadStore(database, 2)
    reads.open()
    try:
        yield database, books, reads
    finally:
        reads.close()
        books.close()
        drop_database(database)


def project(database: str, *names: str) -> None:
    for name in names:
        runner = ProjectionRunner(PROJECTIONS[name], database)
        runner.catch_up()
        runner.close()


def recorded(database: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many TransactionRecorded events the store holds for each id."""
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT originator_id, count(*) FROM eventstore.fiscaflow_events"
            " WHERE topic = 'ledger.transaction:Transaction.Recorded' AND originator_id = ANY(%s)"
            " GROUP BY originator_id",
            (ids,),
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def schedule(
    books: Books, reads: ReadStore, household: uuid.UUID, **fields: Any
) -> tuple[ScheduleCommands, uuid.UUID]:
    commands = ScheduleCommands(books.ledger, books.transactions, reads)
    return commands, commands.create(household, CreateSchedule(**fields), None).id


def test_concurrent_runners_and_a_restart_generate_each_occurrence_once(
    world: tuple[str, Books, ReadStore],
) -> None:
    database, books, reads = world
    household = uuid.uuid4()
    account = books.open(household)
    _, rent = schedule(
        books, reads, household, name="Rent", account_id=account, amount="900.00", start=dt.date(2026, 1, 31)
    )
    project(database, "schedules")
    other = Books(database)  # a second process with its own event store connections
    runners = [ScheduleCommands(b.ledger, b.transactions, reads) for b in (books, other, books, other)]
    counts: list[dict[str, int]] = []
    today = dt.date(2026, 6, 30)
    threads = [threading.Thread(target=lambda r=r: counts.append(r.run(today))) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [dt.date(2026, m, d) for m, d in ((1, 31), (2, 28), (3, 31), (4, 30), (5, 31), (6, 30))]
    ids = [occurrence_transaction_id(rent, on) for on in expected]
    assert recorded(database, ids) == dict.fromkeys(ids, 1)
    assert sum(c["generated"] for c in counts) == 6
    assert all(c["failed"] == 0 for c in counts)
    other.close()

    restarted = Books(database)  # a restart: new process, the read model not caught up yet
    again = ScheduleCommands(restarted.ledger, restarted.transactions, reads).run(today)
    assert again["generated"] == 0
    project(database, "schedules", "transactions")
    later = ScheduleCommands(restarted.ledger, restarted.transactions, reads).run(dt.date(2026, 7, 31))
    assert later["generated"] == 1
    restarted.close()
    with reads.cursor() as curs:
        curs.execute(
            "SELECT date, amount::text, tags FROM read_transactions.transactions WHERE transaction_id = %s",
            (ids[1],),
        )
        assert curs.fetchone() == {"date": dt.date(2026, 2, 28), "amount": "900.00", "tags": ["scheduled"]}


def test_bills_are_matched_to_payments_and_missed_ones_flagged(world: tuple[str, Books, ReadStore]) -> None:
    database, books, reads = world
    household = uuid.uuid4()
    account = books.open(household)
    commands, power = schedule(
        books, reads, household, name="Power", mode="bill", account_id=account, amount="80.00",
        merchant="Power Co", start=dt.date(2026, 1, 1), grace_days=3, tolerance=10,
    )  # fmt: skip
    january = books.record(
        household, "expense", account, "82.00", date=dt.date(2026, 1, 2), merchant="Power Co"
    )
    books.record(household, "expense", account, "80.00", date=dt.date(2026, 2, 1), merchant="Gym")  # not it
    books.record(
        household, "expense", account, "95.00", date=dt.date(2026, 2, 2), merchant="Power Co"
    )  # > 10 %
    project(database, "schedules", "transactions")
    # On 2 March: January paid, February missed, March's window open and waiting.
    assert commands.run(dt.date(2026, 3, 2)) == {"generated": 0, "paid": 1, "missed": 1, "failed": 0}
    march = books.record(
        household, "expense", account, "79.00", date=dt.date(2026, 3, 3), description="POWER CO 03"
    )
    project(database, "schedules", "transactions")
    assert commands.run(dt.date(2026, 3, 3)) == {"generated": 0, "paid": 1, "missed": 0, "failed": 0}
    project(database, "schedules")
    assert commands.run(dt.date(2026, 3, 20))["missed"] == 0  # April's window is not open yet
    with reads.cursor() as curs:
        curs.execute(
            "SELECT due, outcome, transaction_id FROM read_schedules.occurrences"
            " WHERE schedule_id = %s ORDER BY due",
            (power,),
        )
        assert curs.fetchall() == [
            {"due": dt.date(2026, 1, 1), "outcome": "paid", "transaction_id": january},
            {"due": dt.date(2026, 2, 1), "outcome": "missed", "transaction_id": None},
            {"due": dt.date(2026, 3, 1), "outcome": "paid", "transaction_id": march},
        ]
