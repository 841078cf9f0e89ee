"""What every reliability test shares: a seed, a scale, a recorded history of operations,
and a server on a database of its own.

Every randomised test takes its seed from FISCAFLOW_TEST_SEED (or draws one and prints it),
records each operation as invoke / ok / fail / unknown in a JSON-lines history that a
checker judges afterwards, and scales its counts by FISCAFLOW_RELIABILITY_SCALE (1 for the
PR tier; 8 gives the issue's 16 x 2,000 commands, for instance).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server

SCALE = max(1, int(os.environ.get("FISCAFLOW_RELIABILITY_SCALE", "1")))


def scaled(count: int) -> int:
    return count * SCALE


def draw_seed() -> int:
    seed = int(os.environ.get("FISCAFLOW_TEST_SEED", random.randrange(2**31)))
    print(f"seed {seed} (rerun with FISCAFLOW_TEST_SEED={seed})")
    return seed


@dataclass
class Operation:
    """One client operation; ``outcome`` is None while it is in flight."""

    id: int
    process: int
    kind: str
    value: dict[str, Any]
    invoked: float
    completed: float | None = None
    outcome: str | None = None  # ok | fail | unknown
    status: int | None = None
    position: int | None = None
    result: dict[str, Any] = field(default_factory=dict)


class History:
    """A Jepsen-style history: operations with their invoke and completion times."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []
        self.lock = threading.Lock()

    def invoke(self, process: int, kind: str, **value: Any) -> Operation:
        with self.lock:
            operation = Operation(len(self.operations), process, kind, value, time.monotonic())
            self.operations.append(operation)
        return operation

    @staticmethod
    def complete(operation: Operation, outcome: str, status: int | None = None, **result: Any) -> None:
        operation.completed = time.monotonic()
        operation.outcome = outcome
        operation.status = status
        operation.position = result.pop("position", None)
        operation.result = result

    def of(self, outcome: str, kind: str | None = None) -> list[Operation]:
        return [o for o in self.operations if o.outcome == outcome and (kind is None or o.kind == kind)]

    def write(self, path: Path) -> None:
        with path.open("w") as out:
            for operation in self.operations:
                out.write(json.dumps(asdict(operation), default=str) + "\n")


@contextmanager
def served(log: Path, *args: str, **env: str) -> Iterator[Server]:
    """A `fiscaflow serve` process (``args``: more options) on a fresh database, stopped and
    dropped afterwards."""
    conninfo = create_database()
    settings = {"DATABASE_URL": conninfo, "FISCAFLOW_MODE": "development", "FISCAFLOW_RATE_LIMIT": "0"}
    server = Server(settings | env, log, *args)
    server.conninfo = conninfo
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.stop()
        else:
            server.log.close()
        drop_database(conninfo)


def store_counts(conninfo: str) -> tuple[dict[str, int], int]:
    """Recorded events per transaction, and how many postings were applied."""
    recorded = "ledger.transaction:Transaction.Recorded"
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT originator_id::text, count(*) FROM eventstore.fiscaflow_events WHERE topic = %s"
            " GROUP BY originator_id",
            (recorded,),
        ).fetchall()
        postings = conn.execute(
            "SELECT count(*) FROM eventstore.fiscaflow_events WHERE topic = %s",
            ("ledger.account:Account.PostingApplied",),
        ).fetchone()
    return {r[0]: int(r[1]) for r in rows}, int(postings[0]) if postings else 0
