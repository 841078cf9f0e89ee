"""A RabbitMQ virtual host of its own per test, on the machine's real broker: tests never
touch other users' exchanges and queues, and can drop their own connections."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from kombu import Connection

from projections.base import EVENTS_TABLE
from tests.conftest import service_missing

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


def drop_connections(vhost: str) -> int:
    """Close every client connection to the vhost, as a broker restart would."""
    lines = ctl("list_connections", "-q", "--no-table-headers", "vhost", "pid").splitlines()
    pids = [line.split("\t")[1] for line in lines if line.startswith(vhost + "\t")]
    for pid in pids:
        ctl("close_connection", pid, "test: dropped on purpose")
    return len(pids)


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
