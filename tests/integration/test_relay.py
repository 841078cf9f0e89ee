"""The relay on the real RabbitMQ (a vhost of the test's own): every event arrives, in
order per aggregate, through SIGKILLs of the relay process and dropped broker connections;
repeats only as redeliveries, which the consumer helper drops; a poison message is
dead-lettered and the consumer goes on."""

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
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from kombu import Connection, Producer

from commands.messages import RecordTransaction
from projections.relay.consumer import DEAD_QUEUE, EventConsumer, MemorySeen, PostgresSeen, event_queue
from projections.relay.messages import event_id
from projections.relay.publisher import EXCHANGE, Relay
from tests.integration.helpers import Books
from tests.rabbit import drop_connections, virtual_host

pytestmark = pytest.mark.integration
BATCH = 100


@pytest.fixture
def broker() -> Iterator[tuple[str, str]]:
    with virtual_host() as vhost:
        yield vhost


def declare(url: str, name: str = "all-events") -> Any:
    queue = event_queue(name)
    with Connection(url) as conn:
        queue(conn.default_channel).declare()
    return queue


def write(
    books: Books, household: uuid.UUID, accounts: list[uuid.UUID], count: int, rng: random.Random
) -> None:
    """``count`` incomes in appends of 25 (each income is 2 events), with pauses."""
    for start in range(0, count, 25):
        items = [
            RecordTransaction(kind="income", account_id=rng.choice(accounts), amount="1.00",
                              date=dt.date(2026, 11, 1), description=f"n{n}")
            for n in range(start, min(start + 25, count))
        ]  # fmt: skip
        books.transactions.record_many(household, items)
        time.sleep(rng.uniform(0, 0.01))


def relay_process(database: str, url: str, wait_ready: bool = False) -> subprocess.Popen[bytes]:
    env = os.environ | {"DATABASE_URL": database, "RABBITMQ_URL": url, "FISCAFLOW_MODE": "development"}
    command = [sys.executable, "-m", "ops", "relay", "run", "--batch-size", str(BATCH)]
    output = subprocess.PIPE if wait_ready else subprocess.DEVNULL
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=output)
    if wait_ready:  # its signal handlers are in place once it says so
        assert process.stderr is not None
        assert b"relaying events" in process.stderr.readline()
    return process


def stored_ids(database: str) -> dict[str, tuple[str, int]]:
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version FROM eventstore.fiscaflow_events"
        ).fetchall()
    return {str(event_id(a, v)): (str(a), v) for a, v in rows}


def relayed_to_head(database: str) -> bool:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT (SELECT position FROM relay.tracking WHERE name = 'rabbitmq'),"
            " (SELECT max(notification_id) FROM eventstore.fiscaflow_events)"
        ).fetchone()
    return row is not None and row[0] == row[1]


@pytest.mark.reliability
def test_every_event_arrives_through_kills_and_dropped_connections(
    database: str, broker: tuple[str, str]
) -> None:
    seed = int(os.environ.get("FISCAFLOW_TEST_SEED", random.randrange(2**31)))
    rng = random.Random(seed)
    vhost, url = broker
    queue = declare(url)
    books = Books(database)
    household = uuid.uuid4()
    accounts = [books.open(household, f"A{n}") for n in range(4)]
    writer = threading.Thread(target=write, args=(books, household, accounts, 2500, rng))
    writer.start()
    kills = drops = 0
    for round_ in range(20):
        relay = relay_process(database, url)
        time.sleep(rng.uniform(0.3, 1.2))
        if round_ % 5 == 2:
            drops += drop_connections(vhost)
            time.sleep(rng.uniform(0.1, 0.5))
        relay.send_signal(signal.SIGKILL)
        relay.wait()
        kills += 1
    writer.join()
    books.close()
    last = relay_process(database, url, wait_ready=True)
    deadline = time.monotonic() + 120
    while not relayed_to_head(database):
        assert time.monotonic() < deadline, f"relay did not catch up (seed {seed})"
        time.sleep(0.2)
    last.send_signal(signal.SIGTERM)
    assert last.wait(timeout=30) == 0
    last.stderr.close()  # type: ignore[union-attr]

    arrivals: list[dict[str, Any]] = []
    with Connection(url) as conn:
        consumer = EventConsumer(conn, queue, lambda event, _: arrivals.append(event), MemorySeen())
        consumer.drain(idle=2.0)
    expected = stored_ids(database)
    got = {e["id"] for e in arrivals}
    deliveries = len(arrivals) + consumer.repeats
    print(f"seed {seed}: {len(expected)} events, {deliveries} deliveries, {kills} kills,"
          f" {drops} dropped connections, {consumer.repeats} repeats dropped by the consumer")  # fmt: skip
    assert len(expected) >= 5000, "the history is 5,000 events or more"
    assert got - set(expected) == set(), f"unexpected events (seed {seed})"
    assert set(expected) - got == set(), f"lost events (seed {seed})"
    assert consumer.repeats <= (kills + drops) * BATCH, f"repeats beyond the in-flight batches (seed {seed})"
    versions: dict[str, list[int]] = defaultdict(list)
    for event in arrivals:
        versions[event["aggregate_id"]].append(event["aggregate_version"])
    assert all(v == sorted(v) for v in versions.values()), f"per-aggregate order broken (seed {seed})"
    positions = [e["position"] for e in arrivals]
    assert positions == sorted(positions)


@pytest.mark.reliability
def test_a_poison_message_is_dead_lettered_and_the_consumer_goes_on(
    database: str, broker: tuple[str, str]
) -> None:
    _, url = broker
    queue = declare(url)
    books = Books(database)
    household = uuid.uuid4()
    books.record(household, "income", books.open(household), "5.00")
    books.close()
    with Connection(url) as conn:
        Producer(conn.default_channel, exchange=EXCHANGE).publish(
            b"{not json", routing_key="Transaction.Recorded"
        )
    Relay(database, url).catch_up()
    handled: list[str] = []
    with Connection(url) as conn:
        consumer = EventConsumer(conn, queue, lambda event, _: handled.append(event["type"]), MemorySeen())
        consumer.drain(idle=1.0)
        dead = DEAD_QUEUE(conn.default_channel).get(no_ack=True)
    assert consumer.dead == 1
    assert handled == ["Account.Opened", "Transaction.Recorded", "Account.PostingApplied"]
    assert dead is not None and dead.body == b"{not json"


@pytest.mark.reliability
def test_postgres_seen_applies_each_event_once_across_a_full_republish(
    database: str, broker: tuple[str, str]
) -> None:
    _, url = broker
    queue = declare(url)
    books = Books(database)
    household = uuid.uuid4()
    account = books.open(household)
    for n in range(5):
        books.record(household, "income", account, f"{n + 1}.00")
    books.close()
    relay = Relay(database, url, batch_size=4)
    assert relay.catch_up() == 11
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("UPDATE relay.tracking SET position = 0")  # as if it crashed before recording
        conn.execute("CREATE TABLE applied (event_id text PRIMARY KEY)")
    assert relay.catch_up() == 11
    seen = PostgresSeen(database, "test")

    def apply(event: dict[str, Any], conn: Any) -> None:
        conn.execute("INSERT INTO applied VALUES (%s)", (event["id"],))  # a duplicate would fail

    with Connection(url) as conn:
        consumer = EventConsumer(conn, queue, apply, seen)
        consumer.drain(idle=1.0)
    seen.close()
    assert (consumer.handled, consumer.repeats) == (11, 11)
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM applied").fetchone() == (11,)


def test_the_embedded_default_relays_in_process_on_memory_transport(database: str) -> None:
    books = Books(database)
    household = uuid.uuid4()
    books.record(household, "income", books.open(household), "5.00")
    books.close()
    queue = event_queue(f"embedded-{uuid.uuid4().hex[:6]}", ("Transaction.*",))
    with Connection("memory://") as conn:
        queue(conn.default_channel).declare()
        assert Relay(database, "memory://").catch_up() == 3
        got: list[str] = []
        EventConsumer(conn, queue, lambda event, _: got.append(event["type"]), MemorySeen()).drain(idle=0.2)
    assert got == ["Transaction.Recorded"]
