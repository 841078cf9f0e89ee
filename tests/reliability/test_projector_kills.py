"""SIGKILL the projector (RELIABILITY.md "Projections"): a real `fiscaflow project run`
process is killed with SIGKILL 20 times at random points: five times during its catch-up
over a backlog of 5,000 events (each just after a batch committed, somewhere in the next),
five times at any moment (mostly during start-up), ten times under a steady load of new
ones. After a last, clean run its read models equal a full rebuild's, its tracking equals
the last position, and nothing is applied twice (a second application would change a
balance or break a primary key). Kills are placed by watching the tracked positions, not by
fixed delays: start-up alone takes a second or more on a loaded machine."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from commands.messages import RecordTransaction
from projections.registry import PROJECTIONS
from tests.integration.helpers import Books
from tests.integration.test_projections import full_rebuild, snapshot
from tests.reliability.support import draw_seed, scaled

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
NAMES = ["accounts", "transactions"]  # the ledger's own read models: balances and the list
KILLS = 20
BACKLOG = scaled(2500)  # transactions: 2 events each (an income) or 3 (a transfer)


@pytest.fixture
def books(database: str) -> Iterator[Books]:
    books = Books(database, cache_size=100)
    yield books
    books.close()


def entries(accounts: list[uuid.UUID], count: int, rng: random.Random) -> list[RecordTransaction]:
    items = []
    for n in range(count):
        kind = rng.choice(["income", "income", "expense", "transfer"])
        account = rng.choice(accounts)
        to = rng.choice([a for a in accounts if a != account]) if kind == "transfer" else None
        amount = f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}"
        items.append(RecordTransaction(kind=kind, account_id=account, to_account_id=to, amount=amount,  # type: ignore[arg-type]
                                       date=dt.date(2026, 11, 1), description=f"n{n}"))  # fmt: skip
    return items


def write(books: Books, household: uuid.UUID, accounts: list[uuid.UUID], count: int, seed: int,
          stop: threading.Event | None = None) -> None:  # fmt: skip
    """``count`` entries in appends of 25; as a load, with pauses until ``stop`` is set."""
    rng = random.Random(seed)
    for _ in range(0, count, 25):
        if stop is not None and stop.is_set():
            return
        books.transactions.record_many(household, entries(accounts, 25, rng))
        if stop is not None:  # the load: about 500 events/s, the projector's catch-up is faster
            time.sleep(rng.uniform(0.05, 0.15))


def projector(database: str, wait_ready: bool = False) -> subprocess.Popen[bytes]:
    env = os.environ | {"DATABASE_URL": database, "FISCAFLOW_MODE": "development"}
    command = [sys.executable, "-m", "ops", "project", "run", *NAMES]
    output = subprocess.PIPE if wait_ready else subprocess.DEVNULL
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=output)
    if wait_ready:  # its signal handlers are in place once it says so
        assert process.stderr is not None
        while b"projecting" not in (line := process.stderr.readline()):
            assert line, "the projector exited before it started"
    return process


def positions(database: str) -> tuple[list[int], int]:
    """The tracked position of each projection (0 before its schema exists) and the head."""
    with psycopg.connect(database, autocommit=True) as conn:
        tracked = []
        for name in NAMES:
            schema = PROJECTIONS[name].default_schema()
            try:
                row = conn.execute(f"SELECT notification_id FROM {schema}.tracking").fetchone()
            except psycopg.errors.UndefinedTable:
                row = None
            tracked.append(int(row[0]) if row else 0)
        head = conn.execute("SELECT max(notification_id) FROM eventstore.fiscaflow_events").fetchone()
    return tracked, int(head[0]) if head and head[0] else 0


def progressed(database: str, before: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until every projection's tracked position is past ``before`` (a batch committed).
    Start-up takes a second or more, a batch of 500 events a few tens of milliseconds."""
    deadline = time.monotonic() + 60
    while min(positions(database)[0]) <= before:
        assert process.poll() is None, "the projector exited"
        assert time.monotonic() < deadline, "the projector made no progress in 60 s"
        time.sleep(0.005)


def test_a_projector_killed_20_times_equals_a_full_rebuild(books: Books, database: str) -> None:
    seed = draw_seed()
    rng = random.Random(seed)
    household = uuid.uuid4()
    accounts = [books.open(household, f"A{n}") for n in range(4)]
    write(books, household, accounts, BACKLOG, rng.randrange(2**31))
    _, backlog = positions(database)
    stop = threading.Event()
    load = threading.Thread(
        target=write, args=(books, household, accounts, 10**6, rng.randrange(2**31), stop)
    )
    load.start()
    at_kills = []
    try:
        for round_ in range(KILLS):
            before = min(positions(database)[0])
            process = projector(database)
            if round_ < 5:  # the first rounds die during the catch-up: just after a batch
                progressed(database, before, process)  # committed, at a random point of the next
                time.sleep(rng.uniform(0, 0.05))
            elif round_ < 10:  # then at any point, mostly during start-up
                time.sleep(rng.uniform(0.2, 1.5))
            else:  # the last ones once it applies events again: under the load
                progressed(database, before, process)
                time.sleep(rng.uniform(0, 1.0))
            process.send_signal(signal.SIGKILL)
            process.wait()
            at_kills.append(positions(database))
    finally:
        stop.set()
        load.join()
    last = projector(database, wait_ready=True)
    deadline = time.monotonic() + 120
    while (state := positions(database))[0] != [state[1]] * len(NAMES):
        assert time.monotonic() < deadline, f"the projector did not catch up (seed {seed}): {state}"
        time.sleep(0.2)
    last.send_signal(signal.SIGTERM)
    assert last.wait(timeout=30) == 0
    last.stderr.close()  # type: ignore[union-attr]
    tracked, head = positions(database)
    print(f"seed {seed}: backlog {backlog} events, head {head}; (tracked, head) at each kill: {at_kills}")
    assert backlog >= 5000, "the catch-up is over 5,000 events or more"
    assert any(0 < min(t) < backlog for t, _ in at_kills), "some kills landed during the catch-up"
    assert any(min(t) > backlog for t, _ in at_kills), "some kills landed under the load"
    assert tracked == [head] * len(NAMES)  # tracking equals the last position
    for name in NAMES:
        reference = full_rebuild(database, PROJECTIONS[name], f"reference_{name}")
        live = snapshot(database, name, PROJECTIONS[name].default_schema())
        assert live == reference, f"{name} differs from a full rebuild (seed {seed})"
