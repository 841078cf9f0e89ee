"""Gap-free tailing (RELIABILITY.md "Write path and event store"): 10 writers x 100 appends
x 100 events through the real command path, while 2 readers tail the notification log
(one as a projector reads it, one through the library's select_notifications). Each reader
sees a strictly increasing sequence that ends equal to every id in the store: no id is ever
delivered after a larger one, so no reader skips an event that later appears below its
position. This is the test that guards a lock-free or group-commit append."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

from commands.messages import RecordTransaction
from projections.accounts.projection import AccountsProjection
from projections.runner import ProjectionRunner
from tests.integration.helpers import Books
from tests.reliability.support import scaled

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
WRITERS = 10
APPENDS = scaled(100)
EVENTS_PER_APPEND = 100  # 50 incomes: a Recorded and a PostingApplied each
Reader = Callable[[int], list[int]]


@pytest.fixture
def books(database: str) -> Iterator[Books]:
    books = Books(database, pool_size=WRITERS + 2, cache_size=100)  # no replay of long accounts
    yield books
    books.close()


def write(books: Books, household: uuid.UUID, account: uuid.UUID, start: threading.Barrier) -> None:
    items = [
        RecordTransaction(kind="income", account_id=account, amount="1.00", date=dt.date(2026, 11, 1))
        for _ in range(EVENTS_PER_APPEND // 2)
    ]
    start.wait()
    for _ in range(APPENDS):
        assert books.transactions.record_many(household, items).events == EVENTS_PER_APPEND


def as_a_projector(database: str) -> Iterator[Reader]:
    """Reads the way ProjectionRunner does (its own query, in its own transactions)."""
    runner = ProjectionRunner(AccountsProjection, database, schema="tail_probe", batch_size=500, lock=False)

    def read(after: int) -> list[int]:
        with runner.conn.transaction(), runner.conn.cursor() as curs:
            return [row[0] for row in runner._read(curs, after, None)]

    yield read
    runner.close()


def through_the_library(books: Books) -> Iterator[Reader]:
    def read(after: int) -> list[int]:
        return [n.id for n in books.ledger.recorder.select_notifications(start=after + 1, limit=500)]

    yield read


def tail(read: Reader, seen: list[int], done: threading.Event) -> None:
    """Follow the log until the writers are done and nothing more comes."""
    position = 0
    while True:
        finished = done.is_set()  # read before polling: a last poll after the writers ended
        ids = read(position)
        seen.extend(ids)
        if ids:
            position = ids[-1]
        elif finished:
            return
        else:
            time.sleep(0.001)


def test_readers_tailing_concurrent_writers_never_skip_an_event(books: Books, database: str) -> None:
    household = uuid.uuid4()
    accounts = [books.open(household, f"W{n}") for n in range(WRITERS)]
    start = threading.Barrier(WRITERS)
    done = threading.Event()
    readers = {"projector": as_a_projector(database), "library": through_the_library(books)}
    seen: dict[str, list[int]] = {name: [] for name in readers}
    tails = [threading.Thread(target=tail, args=(next(r), seen[name], done)) for name, r in readers.items()]
    writers = [threading.Thread(target=write, args=(books, household, a, start)) for a in accounts]
    started = time.monotonic()
    for thread in tails + writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in tails:
        thread.join()
    elapsed = time.monotonic() - started
    for reader in readers.values():
        next(reader, None)  # closes its connection
    with psycopg.connect(database) as conn:
        stored = [r[0] for r in conn.execute("SELECT notification_id FROM eventstore.fiscaflow_events"
                                             " ORDER BY notification_id")]  # fmt: skip
    total = WRITERS * APPENDS * EVENTS_PER_APPEND
    print(f"{total} events by {WRITERS} writers in {elapsed:.1f} s ({total / elapsed:.0f} events/s);"
          f" polls saw {[len(s) for s in seen.values()]}")  # fmt: skip
    assert stored == list(range(1, total + WRITERS + 1))  # and the Opened; no append rolled back
    for name, ids in seen.items():
        backwards = [(a, b) for a, b in itertools.pairwise(ids) if b <= a]
        assert backwards == [], f"{name}: an id delivered after a larger one: {backwards[:5]}"
        skipped = sorted(set(stored) - set(ids))
        assert skipped == [], f"{name} skipped {len(skipped)} events that appeared below it: {skipped[:5]}"
        assert ids == stored
