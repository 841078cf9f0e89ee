"""The consumer helper: reads integration events from a queue bound to ``fiscaflow.events``
and hands each event to a handler once, dropping the repeats that at-least-once delivery
brings (by event id).

A malformed message (not JSON, or without an id and a type) is rejected without requeue:
the queue dead-letters it to ``fiscaflow.events.dead``, where it waits for a person, and
the consumer goes on. A handler that fails is given the message once more (requeued); if
it fails again the message is dead-lettered too. With ``PostgresSeen``, the handler's own
writes and the "seen" mark commit in one transaction: each event is applied exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

import psycopg
from kombu import Connection, Consumer, Exchange, Message, Queue, binding

from projections.relay.publisher import EXCHANGE

DEAD_LETTERS = Exchange("fiscaflow.events.dead", type="fanout", durable=True)
DEAD_QUEUE = Queue("fiscaflow.events.dead", exchange=DEAD_LETTERS, durable=True)
Handler = Callable[[dict[str, Any], "psycopg.Connection[Any] | None"], None]


def event_queue(name: str, routing_keys: tuple[str, ...] = ("#",)) -> Queue:
    """A durable queue of integration events (``Transaction.*``, ``#``, ...) that
    dead-letters what its consumer rejects."""

    return Queue(
        name,
        bindings=[binding(EXCHANGE, routing_key=key) for key in routing_keys],
        durable=True,
        queue_arguments={"x-dead-letter-exchange": DEAD_LETTERS.name},
    )


class Seen(Protocol):
    def once(self, event_id: str, work: Callable[[psycopg.Connection[Any] | None], None]) -> bool:
        """Run ``work`` unless the event was seen; False for a repeat."""


class MemorySeen:
    """Event ids seen by this process (for consumers whose work is itself idempotent)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def once(self, event_id: str, work: Callable[[psycopg.Connection[Any] | None], None]) -> bool:
        if event_id in self.ids:
            return False
        work(None)
        self.ids.add(event_id)
        return True


class PostgresSeen:
    """Seen event ids in PostgreSQL, marked in the transaction of the handler's writes."""

    def __init__(self, conninfo: str, consumer: str) -> None:
        self.consumer = consumer
        self.conn = psycopg.connect(conninfo)
        with self.conn.transaction():
            self.conn.execute("CREATE SCHEMA IF NOT EXISTS relay")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS relay.consumed (consumer text NOT NULL, event_id uuid NOT NULL,"
                " consumed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id))"
            )

    def once(self, event_id: str, work: Callable[[psycopg.Connection[Any] | None], None]) -> bool:
        with self.conn.transaction():
            fresh = self.conn.execute(
                "INSERT INTO relay.consumed (consumer, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (self.consumer, event_id),
            ).rowcount
            if fresh:
                work(self.conn)
        return bool(fresh)

    def close(self) -> None:
        self.conn.close()


class EventConsumer:
    def __init__(self, connection: Connection, queue: Queue, handler: Handler, seen: Seen) -> None:
        self.connection, self.queue, self.handler, self.seen = connection, queue, handler, seen
        self.handled = self.repeats = self.dead = 0
        DEAD_QUEUE.bind(connection.default_channel).declare()

    def drain(self, idle: float = 1.0) -> int:
        """Consume until no message came for ``idle`` seconds; how many were handled."""
        before = self.handled
        with Consumer(self.connection, queues=[self.queue], callbacks=[self.on_message], prefetch_count=200):
            while True:
                try:
                    self.connection.drain_events(timeout=idle)
                except TimeoutError:
                    return self.handled - before

    def on_message(self, body: Any, message: Message) -> None:
        event = parse(message.body)
        if event is None:
            self.dead += 1
            message.reject(requeue=False)  # dead-lettered: a poison message stops nobody
            return
        try:
            fresh = self.seen.once(event["id"], lambda conn: self.handler(event, conn))
        except Exception:
            if message.delivery_info.get("redelivered"):
                self.dead += 1
                message.reject(requeue=False)
            else:
                message.requeue()
            return
        if fresh:
            self.handled += 1
        else:
            self.repeats += 1
        message.ack()


def parse(raw: bytes | str) -> dict[str, Any] | None:
    """The event of a message, or None when it is not one of ours."""
    try:
        event = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or "type" not in event:
        return None
    return event
