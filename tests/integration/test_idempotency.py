"""Idempotency keys on the real PostgreSQL: one append per key, whatever the races."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from commands.idempotency import IdempotencyMismatchError, IdempotencyStore
from commands.idempotency_key import IdempotencyKey
from commands.messages import RecordTransaction
from commands.write_path import Appended
from tests.integration.helpers import Books

pytestmark = [pytest.mark.integration, pytest.mark.reliability]


@pytest.fixture
def books(database: str) -> Iterator[Books]:
    books = Books(database, pool_size=10)
    yield books
    books.close()


@pytest.fixture
def store(database: str) -> Iterator[IdempotencyStore]:
    with ConnectionPool(database, min_size=1, max_size=4) as pool:
        yield IdempotencyStore(pool)


def event_count(database: str) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM eventstore.fiscaflow_events").fetchone()
    assert row is not None
    return int(row[0])


def key(name: str, body: bytes = b'{"amount":"1.00"}', scope: str = "user:household") -> IdempotencyKey:
    return IdempotencyKey.of(scope, name, "POST", "/api/v1/transactions", body)


def test_a_repeat_answers_the_same_and_appends_nothing(
    books: Books, store: IdempotencyStore, database: str
) -> None:
    household = uuid.uuid4()
    account = books.open(household)

    def record() -> Appended:
        return books.transactions.record(household, _income(account))

    first = store.run(key("k1"), record)
    before = event_count(database)
    again = store.run(key("k1"), record)
    assert again == first
    assert event_count(database) == before
    with pytest.raises(IdempotencyMismatchError):
        store.run(key("k1", b'{"amount":"2.00"}'), record)
    assert event_count(database) == before
    other_tenant = store.run(key("k1", scope="someone:else"), record)  # keys are per caller
    assert other_tenant.id != first.id


def test_concurrent_duplicates_append_once(books: Books, store: IdempotencyStore, database: str) -> None:
    household = uuid.uuid4()
    account = books.open(household)
    before = event_count(database)
    answers: list[Appended] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        barrier.wait()
        answers.append(store.run(key("race"), lambda: books.transactions.record(household, _income(account))))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 6
    assert len(set(answers)) == 1  # everyone got the one answer
    assert event_count(database) == before + 2  # one Recorded, one PostingApplied


def test_a_conflict_retry_inside_the_command_still_records_the_key(
    books: Books, store: IdempotencyStore, database: str
) -> None:
    """The first attempt of a command may lose a race and be retried: the key must ride on."""
    household = uuid.uuid4()
    account = books.open(household)
    other = Books(database)
    racing = threading.Event()
    original = books.ledger.save

    def save_after_a_competitor(*objs: Any, **kwargs: Any) -> Any:
        if not racing.is_set():
            racing.set()  # a competing writer appends to the account first, once
            other.record(household, "income", account, "5.00")
        return original(*objs, **kwargs)

    books.ledger.save = save_after_a_competitor  # type: ignore[method-assign]
    first = store.run(key("retry"), lambda: books.transactions.record(household, _income(account)))
    books.ledger.save = original  # type: ignore[method-assign]
    other.close()
    before = event_count(database)
    assert store.run(key("retry"), lambda: books.transactions.record(household, _income(account))) == first
    assert event_count(database) == before


def _income(account: uuid.UUID) -> Any:

    return RecordTransaction(kind="income", account_id=account, amount="1.00", date=dt.date(2026, 11, 1))


def test_a_crash_after_commit_then_a_retry_appends_once(
    books: Books, store: IdempotencyStore, database: str
) -> None:
    """Unknown outcome: the process dies after COMMIT and before answering; the client
    retries with the same key and gets the committed answer, with nothing appended twice."""
    household = uuid.uuid4()
    account = books.open(household)
    before = event_count(database)
    crashed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integration.crash_after_commit",
            database,
            str(household),
            str(account),
            "lost",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert crashed.returncode == 17, crashed.stderr
    assert event_count(database) == before + 2  # the first attempt did commit
    retried = store.run(key("lost"), lambda: books.transactions.record(household, _income(account)))
    assert event_count(database) == before + 2  # the retry appended nothing
    assert books.ledger.repository.get(retried.id).version == retried.version == 1
