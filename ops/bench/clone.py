"""Many events, fast and still honest: a template household is recorded through the
command handlers, then copied under fresh aggregate ids with COPY into the events table.

The copies go through the same table, under the same append lock, and the hash-chain
trigger hashes every row (commands/audit_chain.py); only the command handlers are skipped,
so the copies are exactly what the handlers would have stored for other accounts.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from ops.bench.seed import Household

UUID_TEXT = re.compile(rb"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})")
CLONED = ("ledger.account:", "ledger.transaction:")  # the rest (the household's) is not copied
COPY_ROWS = 20_000  # rows per COPY transaction


@dataclass(frozen=True, slots=True)
class Row:
    """A template event: its aggregate and version, topic, and its state cut where the id
    of a template aggregate appears (a part (id, dashed) there, for the copy's own id)."""

    originator: uuid.UUID
    version: int
    topic: str
    parts: tuple[bytes | tuple[uuid.UUID, bool], ...]


def cut(state: bytes, originators: set[uuid.UUID]) -> tuple[bytes | tuple[uuid.UUID, bool], ...]:
    parts: list[bytes | tuple[uuid.UUID, bool]] = []
    for index, piece in enumerate(UUID_TEXT.split(state)):
        found = uuid.UUID(piece.decode()) if index % 2 else None
        if found is not None and found in originators:
            parts.append((found, len(piece) == 36))
        elif piece:
            parts.append(piece)
    return tuple(parts)


def template(conninfo: str, transactions: int, env: dict[str, int]) -> list[Row]:
    """Record a template household (8 accounts) and read back the events to copy."""
    household = Household(conninfo, **env)
    household.record(household.open(8), transactions)
    household.close()
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM eventstore.fiscaflow_events"
            " ORDER BY notification_id"
        ).fetchall()
    rows = [r for r in rows if r[2].startswith(CLONED)]
    originators = {r[0] for r in rows}
    return [Row(r[0], r[1], r[2], cut(bytes(r[3]), originators)) for r in rows]


def copy_of(rows: list[Row]) -> list[tuple[uuid.UUID, int, str, bytes]]:
    """The template's rows with a fresh id for every aggregate."""
    fresh: dict[uuid.UUID, uuid.UUID] = {}

    def new(old: uuid.UUID) -> uuid.UUID:
        return fresh.setdefault(old, uuid.uuid4())

    def text(part: Any) -> bytes:
        if isinstance(part, bytes):
            return part
        found = new(part[0])
        return (str(found) if part[1] else found.hex).encode()

    return [(new(r.originator), r.version, r.topic, b"".join(text(p) for p in r.parts)) for r in rows]


def append_copies(conninfo: str, rows: list[Row], events: int, advance: Callable[[int], None]) -> int:
    """COPY copies of the template until ``events`` events were added; how many were."""
    added = 0
    with psycopg.connect(conninfo) as conn:
        while added < events:
            batch: list[tuple[uuid.UUID, int, str, bytes]] = []
            while len(batch) < COPY_ROWS and added + len(batch) < events:
                batch += copy_of(rows)[: events - added - len(batch)]
            with conn.transaction(), conn.cursor() as curs:
                curs.execute("SELECT eventstore.lock_events()")  # the append lock, as every append
                curs.execute("SELECT set_config('fiscaflow.audit', %s, true)", ('{"job":"bench"}',))
                with curs.copy(
                    "COPY eventstore.fiscaflow_events (originator_id, originator_version, topic, state)"
                    " FROM STDIN"
                ) as copy:
                    for row in batch:
                        copy.write_row(row)
            added += len(batch)
            advance(len(batch))
    return added


@dataclass(frozen=True, slots=True)
class Generated:
    events: int
    template_events: int
    template_seconds: float
    copy_seconds: float


def generate(conninfo: str, events: int, env: dict[str, int], advance: Callable[[int], None]) -> Generated:
    """Fill a scratch database with about ``events`` events (at least the template's)."""
    began = time.perf_counter()
    rows = template(conninfo, max(100, min(2_000, events // 2)), env)
    recorded = time.perf_counter() - began
    advance(len(rows))
    began = time.perf_counter()
    added = append_copies(conninfo, rows, events - len(rows), advance)
    return Generated(len(rows) + added, len(rows), recorded, time.perf_counter() - began)
