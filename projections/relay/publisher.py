"""The relay: a tracked follower of the event store that publishes every event, in order,
to the durable topic exchange ``fiscaflow.events`` (routing key = event type, persistent
messages, publisher confirms).

A batch is read after the tracked position, published, and its position recorded in
PostgreSQL only once the broker has confirmed every message of the batch. A crash or a
lost connection anywhere before that publishes the batch again on the next run: delivery
is at least once and never has a gap; consumers drop the repeats by event id
(``projections.relay.consumer``). One relay is active at a time (a PostgreSQL advisory
lock held for the process's life); a second one waits for it.

Each message's AMQP ``correlation_id`` property is the correlation id of the request or
job that made the event (also in the body with the command: projections/relay/messages.py).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from kombu import Connection, Exchange, Producer
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from ledger.transcodings import event_mapper
from projections.base import EVENTS_TABLE, NOTIFICATION_AND_METADATA_COLUMNS, correlation_of, notification
from projections.relay.messages import encode, message
from projections.runner import NOTIFY_CHANNEL, connect

log = logging.getLogger("fiscaflow.relay")
EXCHANGE = Exchange("fiscaflow.events", type="topic", durable=True)
LOCK = "fiscaflow.relay"
NAME = "rabbitmq"
SCHEMA = """
CREATE SCHEMA IF NOT EXISTS relay;
CREATE TABLE IF NOT EXISTS relay.tracking (name text PRIMARY KEY, position bigint NOT NULL);
INSERT INTO relay.tracking VALUES ('rabbitmq', 0) ON CONFLICT DO NOTHING
"""

TRACER = trace.get_tracer("fiscaflow.relay")


class NotConfirmedError(Exception):
    """The broker refused (nacked) a message or did not confirm it in time."""


class ConfirmedChannel:
    """Publishes a batch and waits until the broker confirmed all of it (one round trip
    per batch, not per message). The in-memory transport has no confirms: its publish is
    synchronous."""

    def __init__(self, connection: Connection, exchange: Exchange = EXCHANGE, timeout: float = 30.0) -> None:
        self.connection, self.timeout = connection, timeout
        self.channel: Any = connection.channel()
        self.producer = Producer(self.channel, exchange=exchange, auto_declare=True)
        self.confirms = hasattr(self.channel, "confirm_select")
        self.published = 0  # the channel's delivery tags count the publishes from 1
        self.unconfirmed: set[int] = set()
        self.nacked = False
        if self.confirms:
            self.channel.confirm_select()
            self.channel.events["basic_ack"].add(self._ack)
            self.channel.events["basic_nack"].add(self._nack)

    def _ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self.unconfirmed = {t for t in self.unconfirmed if t > tag}
        else:
            self.unconfirmed.discard(tag)

    def _nack(self, tag: int, multiple: bool) -> None:
        self.nacked = True

    def publish(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        for routing_key, body in batch:
            self.producer.publish(
                encode(body),
                routing_key=routing_key,
                delivery_mode=2,  # persistent
                content_type="application/json",
                content_encoding="utf-8",
                message_id=body["id"],
                correlation_id=body.get("correlation_id"),
                headers={"position": body["position"], "aggregate_id": body["aggregate_id"]},
                retry=False,
            )
            self.published += 1
            if self.confirms:
                self.unconfirmed.add(self.published)
        if self.confirms:
            self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + self.timeout  # for the batch, not for each confirm
        while self.unconfirmed and not self.nacked:
            try:
                self.connection.drain_events(timeout=max(deadline - time.monotonic(), 0.001))
            except TimeoutError as error:  # socket.timeout
                raise NotConfirmedError(
                    f"{len(self.unconfirmed)} messages of the batch not confirmed in {self.timeout} s"
                ) from error
        if self.nacked:
            raise NotConfirmedError("the broker refused a message of the batch")

    def close(self) -> None:
        self.channel.close()


class Relay:
    def __init__(self, conninfo: str, broker_url: str, batch_size: int = 500) -> None:
        self.conninfo, self.broker_url, self.batch_size = conninfo, broker_url, batch_size
        self.mapper = event_mapper()
        with connect(conninfo, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext('fiscaflow.relay.schema'))")
            for statement in SCHEMA.split(";"):
                conn.execute(statement)  # type: ignore[call-overload]
            conn.execute("SELECT pg_advisory_unlock(hashtext('fiscaflow.relay.schema'))")

    def position(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute("SELECT position FROM relay.tracking WHERE name = %s", (NAME,)).fetchone()
        return int(row[0]) if row else 0

    def batch(self, conn: psycopg.Connection[Any]) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
        """The next events after the tracked position, as messages; and the last position."""
        rows = conn.execute(
            f"SELECT {NOTIFICATION_AND_METADATA_COLUMNS} FROM {EVENTS_TABLE}"  # noqa: S608 - constant names
            " WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
            (self.position(conn), self.batch_size),
        ).fetchall()
        messages = [
            message(row[0], row[3], self.mapper.to_domain_event(notification(row)), correlation_of(row[5]))
            for row in rows
        ]
        return (rows[-1][0] if rows else 0), messages

    def publish_batch(self, conn: psycopg.Connection[Any], channel: ConfirmedChannel) -> int:
        """Publish the next batch and, once confirmed, record its position; how many."""
        last, messages = self.batch(conn)
        if not messages:
            return 0
        attributes = {
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "publish",
            "messaging.destination.name": EXCHANGE.name,
            "messaging.batch.message_count": len(messages),
            "fiscaflow.position.last": last,
        }
        with TRACER.start_as_current_span(
            f"publish {EXCHANGE.name}", kind=SpanKind.PRODUCER, attributes=attributes
        ):
            channel.publish(messages)  # returns once the broker confirmed every message
        conn.execute("UPDATE relay.tracking SET position = %s WHERE name = %s", (last, NAME))
        return len(messages)

    def catch_up(self) -> int:
        """Publish everything stored so far (one connection); how many were published."""
        total = 0
        with connect(self.conninfo, autocommit=True) as conn, Connection(self.broker_url) as broker:
            channel = ConfirmedChannel(broker)
            while count := self.publish_batch(conn, channel):
                total += count
        return total

    def run_until(self, stopping: threading.Event, poll_interval: float = 1.0) -> None:
        """Follow the event store until ``stopping`` is set; reconnect after broker or
        database failures (the batch in flight is published again: at least once)."""
        with connect(self.conninfo, autocommit=True) as holder:
            while not holder.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (LOCK,)).fetchone()[0]:  # type: ignore[index]
                if stopping.wait(poll_interval):
                    return
            while not stopping.is_set():
                try:
                    self._follow(stopping, poll_interval)
                except Exception:
                    log.exception("relay interrupted; reconnecting")
                    stopping.wait(poll_interval)

    def _follow(self, stopping: threading.Event, poll_interval: float) -> None:
        with (
            connect(self.conninfo, autocommit=True) as conn,
            connect(self.conninfo, autocommit=True) as listener,
            Connection(self.broker_url, connect_timeout=5) as broker,
        ):
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            channel = ConfirmedChannel(broker)
            while not stopping.is_set():
                if self.publish_batch(conn, channel):
                    continue
                for _ in listener.notifies(timeout=poll_interval, stop_after=1):
                    pass


class RelayThread(threading.Thread):
    """The relay inside ``fiscaflow serve`` (the embedded default publishes to kombu's
    in-process ``memory://`` transport; production runs ``fiscaflow relay run``)."""

    def __init__(self, relay: Relay) -> None:
        super().__init__(name="event-relay", daemon=True)
        self.relay, self.stopping = relay, threading.Event()

    def run(self) -> None:
        self.relay.run_until(self.stopping)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
