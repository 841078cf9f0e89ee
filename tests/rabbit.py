"""A RabbitMQ virtual host of its own per test, on the machine's real broker: tests never
touch other users' exchanges and queues; and a
loopback proxy to the broker that cuts a client's connection mid-publish or holds back
the broker's publisher confirms (``Severable``)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

import psycopg
from kombu import Connection

from projections.base import EVENTS_TABLE
from tests.conftest import service_missing
from tests.loopback import receive, send

BROKER = os.environ.get("FISCAFLOW_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")


def ctl(*args: str) -> str:
    result = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr or result.stdout}")
    return result.stdout


@contextmanager
def virtual_host() -> Iterator[tuple[str, str]]:
    """(the vhost's name, its AMQP URL), deleted afterwards."""
    if shutil.which("rabbitmqctl") is None:
        service_missing("rabbitmqctl is not on the PATH (tests make a RabbitMQ vhost of their own)")
    try:
        with Connection(BROKER, connect_timeout=3) as probe:
            probe.ensure_connection(max_retries=1)
    except Exception as error:
        service_missing(f"RabbitMQ at {BROKER} is not reachable: {error}")
    name = f"fiscaflow_test_{uuid.uuid4().hex[:10]}"
    ctl("add_vhost", name)
    ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    try:
        yield name, f"{BROKER}/{name}"
    finally:
        ctl("delete_vhost", name)


def relayed(conninfo: str, timeout: float = 60.0) -> None:
    """Wait until the server's relay has published every stored event."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                f"SELECT (SELECT max(notification_id) FROM {EVENTS_TABLE})"
                " <= (SELECT position FROM relay.tracking WHERE name = 'rabbitmq')"
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.2)
    raise AssertionError(f"the relay did not catch up in {timeout} s")


def received(url: str, queue: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every message waiting in the queue: its JSON body and its AMQP properties."""
    messages = []
    with Connection(url) as conn:
        bound = queue(conn.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            messages.append((json.loads(message.body), dict(message.properties)))
    return messages


PUBLISH, CONFIRM = (60, 40), (60, 80)  # AMQP 0-9-1 basic.publish and basic.ack (class, method)


class Link:
    """One client connection through the ``Severable`` proxy: the frames it carried, and
    whether it was cut."""

    def __init__(self, client: socket.socket, server: socket.socket, cut_at: int | None, hold: bool) -> None:
        self.client, self.server, self.cut_at, self.hold_confirms = client, server, cut_at, hold
        self.publishes = 0  # basic.publish frames passed on to the broker
        self.confirms = 0  # basic.ack frames passed on to the client
        self.acked_upto = 0  # the broker confirmed every delivery tag up to this one
        self.acked: set[int] = set()  # and these (acks without "multiple")
        self.cut = threading.Event()
        self.lock = threading.Lock()

    def confirmed(self, first: int, last: int) -> int:
        """How many of the publishes ``first`` to ``last`` (the channel's delivery tags,
        from 1) the broker confirmed, whether or not the confirm reached the client."""
        return sum(1 for tag in range(first, last + 1) if tag <= self.acked_upto or tag in self.acked)

    def on_confirm(self, frame: bytes) -> None:
        tag, multiple = int.from_bytes(frame[11:19], "big"), frame[19] & 1
        if multiple:
            self.acked_upto = max(self.acked_upto, tag)
        else:
            self.acked.add(tag)

    def sever(self) -> None:
        """Reset the client's end; the broker still gets every frame passed on so far (a
        FIN after them, not a reset that could drop them), then sees the connection end."""
        with self.lock:
            if self.cut.is_set():
                return
            self.cut.set()
        with suppress(OSError):
            self.client.shutdown(socket.SHUT_RDWR)
        self.client.close()
        with suppress(OSError):
            self.server.shutdown(socket.SHUT_WR)


def frames(pending: bytearray) -> Iterator[tuple[bytes, tuple[int, int] | None]]:
    """Each complete frame at the start of ``pending`` (taken out of it) and its method
    (class id, method id), None when it is no method frame; the protocol header passes
    as one "frame" of its own."""
    while True:
        if pending.startswith(b"AMQP") and len(pending) >= 8:
            yield bytes(pending[:8]), None
            del pending[:8]
            continue
        if len(pending) < 7 or len(pending) < 8 + int.from_bytes(pending[3:7], "big"):
            return
        size = 8 + int.from_bytes(pending[3:7], "big")
        frame = bytes(pending[:size])
        del pending[:size]
        method = (
            (int.from_bytes(frame[7:9], "big"), int.from_bytes(frame[9:11], "big")) if frame[0] == 1 else None
        )
        yield frame, method


class Severable:
    """A loopback TCP proxy to the broker that parses the AMQP frames it passes on, so a
    test can cut a client's live connection in the middle of its publishing (before the
    n-th basic.publish reaches the broker), or keep the broker's confirms from it.

    ``cuts``: for the first, second, ... connection, cut it when the client sends its
    (n + 1)-th basic.publish (n of them reached the broker); later connections stay up.
    ``hold_confirms``: the broker's basic.ack frames never reach the client.
    ``on_cut``: called with the link once its n publishes reached the broker and before its
    client's end is reset (a test kills the client there: it dies mid-publish, never seeing
    the cut)."""

    def __init__(
        self,
        cuts: list[int] | None = None,
        hold_confirms: bool = False,
        broker: str = BROKER,
        on_cut: Callable[[Link], None] | None = None,
    ) -> None:
        parsed = urlsplit(broker)
        self.hold_confirms = hold_confirms
        self.on_cut = on_cut
        self.target = (parsed.hostname or "127.0.0.1", parsed.port or 5672)
        self.plan = list(cuts or [])
        self.links: list[Link] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, name="severable-accept", daemon=True).start()

    def url(self, vhost: str) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.target, timeout=5)
            server.settimeout(None)
            with self.lock:
                link = Link(client, server, self.plan.pop(0) if self.plan else None, self.hold_confirms)
                self.links.append(link)
            threading.Thread(target=self._upstream, args=(link,), daemon=True).start()
            threading.Thread(target=self._downstream, args=(link,), daemon=True).start()

    def _upstream(self, link: Link) -> None:
        """Client to broker, cut before the planned publish."""
        pending = bytearray()
        while not link.cut.is_set():
            chunk = receive(link.client)
            if not chunk:
                break
            pending += chunk
            out, cut = bytearray(), False
            for frame, method in frames(pending):
                if method == PUBLISH:
                    cut = link.publishes == link.cut_at
                    if cut:
                        break
                    link.publishes += 1
                out += frame
            if not send(link.server, out):
                break
            if cut:
                if self.on_cut is not None:
                    self.on_cut(link)
                break
        link.sever()

    def _downstream(self, link: Link) -> None:
        """Broker to client, without the confirms while they are held; after a cut, what
        the broker still sends (confirms of what reached it) is read, noted and dropped
        until it closes its end."""
        pending = bytearray()
        while chunk := receive(link.server):
            pending += chunk
            out = bytearray()
            for frame, method in frames(pending):
                if method == CONFIRM:
                    link.on_confirm(frame)
                    if link.hold_confirms or link.cut.is_set():
                        continue
                    link.confirms += 1
                out += frame
            if not link.cut.is_set() and not send(link.client, out):
                link.sever()
        link.sever()
        link.server.close()

    def wait_for_cuts(self, count: int, timeout: float) -> list[Link]:
        """The first ``count`` connections, once each was cut (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                links = self.links[:count]
            if len(links) == count and all(link.cut.is_set() for link in links):
                return links
            assert time.monotonic() < deadline, f"{len(links)} connections, not {count} cut in {timeout} s"
            time.sleep(0.05)

    def close(self) -> None:
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept; close alone would not
        self.listener.close()
        with self.lock:
            links = list(self.links)
        for link in links:
            link.sever()
