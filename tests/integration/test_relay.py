"""The relay on the real RabbitMQ (a vhost of the test's own): every event arrives, in
order per aggregate, through SIGKILLs of the relay process and broker connections cut
mid-publish; repeats only as redeliveries, which the consumer helper drops; messages are
persistent on a durable topic exchange, and a batch is recorded only once the broker
confirmed it; a poison message is dead-lettered and the consumer goes on."""

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
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kombu import Connection, Producer

from commands.messages import RecordTransaction
from projections.relay.consumer import DEAD_QUEUE, EventConsumer, MemorySeen, PostgresSeen, event_queue
from projections.relay.messages import event_id
from projections.relay.publisher import EXCHANGE, ConfirmedChannel, NotConfirmedError, Relay
from projections.runner import connect
from tests.integration.helpers import Books
from tests.rabbit import Severable, ctl, received, virtual_host

pytestmark = pytest.mark.integration
BATCH = 100
DROPS = 6  # broker connections cut mid-publish


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


def incomes(database: str, count: int) -> None:
    """A new household with an account and ``count`` incomes: 1 + 2 x count events (an
    income also posts to its account)."""
    books = Books(database)
    household = uuid.uuid4()
    account = books.open(household)
    for n in range(count):
        books.record(household, "income", account, f"{n + 1}.00")
    books.close()


def scene(database: str, url: str) -> tuple[int, random.Random, Any, Books, uuid.UUID, list[uuid.UUID]]:
    """A randomised relay test's start: its seed (FISCAFLOW_TEST_SEED replays one) and random
    source, the declared queue, and a household with 4 accounts for ``write``."""
    seed = int(os.environ.get("FISCAFLOW_TEST_SEED", random.randrange(2**31)))
    books = Books(database)
    household = uuid.uuid4()
    accounts = [books.open(household, f"A{n}") for n in range(4)]
    return seed, random.Random(seed), declare(url), books, household, accounts


def relay_process(database: str, url: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """``fiscaflow relay run``; with a ``log``, its stderr goes there and this returns once
    it says it is relaying (its signal handlers are in place)."""
    env = os.environ | {"DATABASE_URL": database, "RABBITMQ_URL": url, "FISCAFLOW_MODE": "development"}
    command = [sys.executable, "-m", "ops", "relay", "run", "--batch-size", str(BATCH)]
    with open(log, "wb") if log else open(os.devnull, "wb") as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 30
    while log and b"relaying events" not in log.read_bytes():
        assert process.poll() is None, f"the relay exited: {log.read_text()}"
        assert time.monotonic() < deadline, "the relay did not start in 30 s"
        time.sleep(0.05)
    return process


def stop(relay: subprocess.Popen[bytes]) -> None:
    relay.send_signal(signal.SIGTERM)
    assert relay.wait(timeout=30) == 0


def wait_relayed_to_head(database: str, seed: int) -> None:
    deadline = time.monotonic() + 120
    while not relayed_to_head(database):
        assert time.monotonic() < deadline, f"relay did not catch up (seed {seed})"
        time.sleep(0.2)


def tracked(database: str) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT position FROM relay.tracking WHERE name = 'rabbitmq'").fetchone()
    return int(row[0]) if row else 0


def drain(url: str, queue: Any) -> tuple[list[dict[str, Any]], EventConsumer]:
    """Every event in the queue through the consumer helper, once each, in arrival order."""
    arrivals: list[dict[str, Any]] = []
    with Connection(url) as conn:
        consumer = EventConsumer(conn, queue, lambda event, _: arrivals.append(event), MemorySeen())
        consumer.drain(idle=2.0)
    return arrivals, consumer


def check_total_queue(database: str, arrivals: list[dict[str, Any]], seed: int) -> None:
    """Jepsen's total-queue check: every stored event arrived, nothing else did, in order
    per aggregate (and by position)."""
    expected = stored_ids(database)
    got = {e["id"] for e in arrivals}
    assert len(expected) >= 5000, "the history is 5,000 events or more"
    assert got - set(expected) == set(), f"unexpected events (seed {seed})"
    assert set(expected) - got == set(), f"lost events (seed {seed})"
    versions: dict[str, list[int]] = defaultdict(list)
    for event in arrivals:
        versions[event["aggregate_id"]].append(event["aggregate_version"])
    assert all(v == sorted(v) for v in versions.values()), f"per-aggregate order broken (seed {seed})"
    positions = [e["position"] for e in arrivals]
    assert positions == sorted(positions), f"position order broken (seed {seed})"


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
def test_every_event_arrives_through_kills_of_the_relay(
    database: str, broker: tuple[str, str], tmp_path: Path
) -> None:
    _, url = broker
    seed, rng, queue, books, household, accounts = scene(database, url)
    writer = threading.Thread(target=write, args=(books, household, accounts, 2500, rng))
    writer.start()
    kills = 0
    for _ in range(20):
        relay = relay_process(database, url)
        time.sleep(rng.uniform(0.3, 1.2))
        relay.send_signal(signal.SIGKILL)
        relay.wait()
        kills += 1
    writer.join()
    books.close()
    last = relay_process(database, url, tmp_path / "relay.log")
    wait_relayed_to_head(database, seed)
    stop(last)

    arrivals, consumer = drain(url, queue)
    print(f"seed {seed}: {len(arrivals)} events, {len(arrivals) + consumer.repeats} deliveries,"
          f" {kills} kills, {consumer.repeats} repeats dropped by the consumer")  # fmt: skip
    check_total_queue(database, arrivals, seed)
    assert consumer.repeats <= kills * BATCH, f"repeats beyond the in-flight batches (seed {seed})"


@pytest.mark.reliability
def test_every_event_arrives_through_kills_of_the_relay_mid_publish(
    database: str, broker: tuple[str, str], tmp_path: Path
) -> None:
    """SIGKILLs that certainly land in the middle of a batch: the relay reaches the broker
    through a proxy that, once n publishes of the relay's connection reached the broker
    (n not a multiple of the batch), kills the relay before passing on more, so the
    relay dies with a batch half published and its position not recorded. A backlog written
    first keeps every batch full. Each next relay starts from the recorded position."""
    vhost, url = broker
    seed, rng, queue, books, household, accounts = scene(database, url)
    write(books, household, accounts, 700, rng)  # 1,400 events waiting
    kills = [rng.choice([n for n in range(1, 2 * BATCH) if n % BATCH]) for _ in range(DROPS)]
    relays: list[subprocess.Popen[bytes]] = []
    proxy = Severable(kills, on_cut=lambda _: relays[-1].send_signal(signal.SIGKILL))
    writer = threading.Thread(target=write, args=(books, household, accounts, 1800, rng))
    writer.start()
    logs = [tmp_path / f"relay-{n}.log" for n in range(DROPS + 1)]
    try:
        for n in range(DROPS):
            relays.append(relay_process(database, proxy.url(vhost), logs[n]))
            proxy.wait_for_cuts(n + 1, timeout=60)
            assert relays[-1].wait(timeout=10) == -signal.SIGKILL, f"relay {n} was killed (seed {seed})"
        relays.append(relay_process(database, proxy.url(vhost), logs[DROPS]))
        writer.join()
        wait_relayed_to_head(database, seed)
    finally:
        stop(relays[-1])
        proxy.close()
        writer.join()
        books.close()

    killed = proxy.links[:DROPS]
    arrivals, consumer = drain(url, queue)
    print(f"seed {seed}: {len(arrivals)} events, {len(arrivals) + consumer.repeats} deliveries,"
          f" killed after {kills} publishes, {consumer.repeats} repeats")  # fmt: skip
    assert [link.publishes for link in killed] == kills, f"each kill fell after its publishes (seed {seed})"
    assert not any("reconnecting" in log.read_text() for log in logs[:DROPS]), (
        f"a killed relay never saw its connection end (seed {seed})"
    )
    check_total_queue(database, arrivals, seed)
    # What reached the broker after the last recorded position goes out again: at least the
    # half-published batch's messages that the broker confirmed, at most all that reached it.
    confirmed = sum(link.confirmed(n - n % BATCH + 1, n) for link, n in zip(killed, kills, strict=True))
    assert confirmed <= consumer.repeats <= sum(kills), f"repeats only of the killed links (seed {seed})"


@pytest.mark.reliability
def test_every_event_arrives_through_broker_connections_cut_mid_publish(
    database: str, broker: tuple[str, str], tmp_path: Path
) -> None:
    """The relay reaches the broker through a proxy that cuts each of its first connections
    in the middle of a batch, after a random number of publishes reached the broker: the
    relay reconnects and publishes that batch again. A backlog written first keeps every
    batch full (the cuts fall inside the first 1,000 events), so the repeats are messages of
    cut batches that reached the broker before the cut, and no others."""
    vhost, url = broker
    seed, rng, queue, books, household, accounts = scene(database, url)
    write(books, household, accounts, 700, rng)  # 1,400 events waiting
    cuts = [rng.randrange(1, 2 * BATCH) for _ in range(DROPS)]
    proxy = Severable(cuts)
    writer = threading.Thread(target=write, args=(books, household, accounts, 1800, rng))
    writer.start()
    log = tmp_path / "relay.log"
    relay = relay_process(database, proxy.url(vhost), log)
    try:
        cut = proxy.wait_for_cuts(DROPS, timeout=60)
        writer.join()
        wait_relayed_to_head(database, seed)
    finally:
        stop(relay)
        proxy.close()
        writer.join()
        books.close()

    links = proxy.links
    reconnects = log.read_text().count("relay interrupted; reconnecting")
    arrivals, consumer = drain(url, queue)
    print(f"seed {seed}: {len(arrivals)} events, {len(arrivals) + consumer.repeats} deliveries,"
          f" cut after {cuts} publishes, {len(links)} connections, {consumer.repeats} repeats")  # fmt: skip
    assert [link.publishes for link in cut] == cuts, f"each cut fell after its publishes (seed {seed})"
    assert reconnects == DROPS, f"the relay reconnected after each cut (seed {seed})"
    assert len(links) == DROPS + 1 and all(link.publishes > 0 for link in links[1:]), (
        f"publishing resumed after each cut (seed {seed})"
    )
    check_total_queue(database, arrivals, seed)
    # A cut batch's messages that reached the broker are in the queue twice (once more when
    # published again) if the broker took them in before the connection ended: at least those
    # it confirmed (the confirms that the cut kept from the relay), at most all that reached it.
    # RabbitMQ may drop what it received but had not yet routed when a connection ends.
    confirmed = sum(link.confirmed(n - n % BATCH + 1, n) for link, n in zip(cut, cuts, strict=True))
    print(f"repeats {consumer.repeats}: cut batches {sum(n % BATCH for n in cuts)}, confirmed {confirmed}")
    assert confirmed <= consumer.repeats <= sum(n % BATCH for n in cuts), (
        f"repeats are only messages of cut batches (seed {seed})"
    )


def rows(output: str) -> list[list[str]]:
    return [line.split("\t") for line in output.splitlines()]


def test_messages_are_persistent_on_a_durable_topic_exchange_from_a_confirmed_channel(
    database: str, broker: tuple[str, str]
) -> None:
    vhost, url = broker
    incomes(database, 1)
    relay = Relay(database, url)
    assert relay.catch_up() == 3  # into no queue yet: the exchange is the relay's own
    exchanges = rows(
        ctl("list_exchanges", "-p", vhost, "-q", "--no-table-headers", "name", "type", "durable")
    )
    assert ["fiscaflow.events", "topic", "true"] in exchanges
    with Connection(url) as conn:
        channel = ConfirmedChannel(conn)  # the channel the relay publishes on
        channels = rows(ctl("list_channels", "-q", "--no-table-headers", "vhost", "confirm"))
        channel.close()
    assert [confirm for host, confirm in channels if host == vhost] == ["true"], "publisher confirms are on"
    queue = declare(url)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("UPDATE relay.tracking SET position = 0")
    assert relay.catch_up() == 3
    queues = rows(
        ctl("list_queues", "-p", vhost, "-q", "--no-table-headers", "name", "messages", "messages_persistent")
    )
    assert queues == [["all-events", "3", "3"]], "the broker holds 3 persistent messages"
    messages = received(url, queue)
    assert [properties["delivery_mode"] for _, properties in messages] == [2, 2, 2]
    assert [body["type"] for body, _ in messages] == [
        "Account.Opened",
        "Transaction.Recorded",
        "Account.PostingApplied",
    ]


def test_a_batch_the_broker_does_not_confirm_is_not_recorded_and_goes_out_again(
    database: str, broker: tuple[str, str]
) -> None:
    """The broker gets the messages but its confirms never reach the relay (the proxy holds
    them back): the batch fails, the position stays, and the next run publishes it again."""
    vhost, url = broker
    queue = declare(url)
    incomes(database, 3)
    relay = Relay(database, url)
    proxy = Severable(hold_confirms=True)
    try:
        with (
            connect(database, autocommit=True) as conn,
            Connection(proxy.url(vhost)) as unconfirmed,
            pytest.raises(NotConfirmedError),
        ):
            relay.publish_batch(conn, ConfirmedChannel(unconfirmed, timeout=1.0))
    finally:
        proxy.close()
    (link,) = proxy.links
    assert (link.publishes, link.confirms) == (7, 0)
    assert tracked(database) == 0, "an unconfirmed batch does not move the relay's position"
    assert relay.catch_up() == 7
    assert relayed_to_head(database)
    arrivals, consumer = drain(url, queue)
    assert len(arrivals) == consumer.repeats == 7, "the unconfirmed batch reached the broker, then again"


@pytest.mark.reliability
def test_a_poison_message_is_dead_lettered_and_the_consumer_goes_on(
    database: str, broker: tuple[str, str]
) -> None:
    _, url = broker
    queue = declare(url)
    incomes(database, 1)
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
    incomes(database, 5)
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
    incomes(database, 1)
    queue = event_queue(f"embedded-{uuid.uuid4().hex[:6]}", ("Transaction.*",))
    with Connection("memory://") as conn:
        queue(conn.default_channel).declare()
        assert Relay(database, "memory://").catch_up() == 3
        got: list[str] = []
        EventConsumer(conn, queue, lambda event, _: got.append(event["type"]), MemorySeen()).drain(idle=0.2)
    assert got == ["Transaction.Recorded"]
