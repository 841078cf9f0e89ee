"""Verifying the event log, and checkpointing its order (see commands/audit_chain.py).

``verify`` recomputes every event's hash in Python, independently of the database's own
functions, walks each aggregate's chain, and compares each checkpoint's recorded order with
the rows. It names the first event of each kind of tampering:

- modified: an event whose content no longer gives its hash, or whose hash is not the one
  its successor was chained to;
- deleted: a version missing from an aggregate's chain, or a checkpointed position gone;
- inserted: a position in a checkpointed range that the checkpoint never saw;
- reordered: checkpointed events whose positions were exchanged, or an aggregate's versions
  met out of order.

Events after the last checkpoint are covered by their aggregates' chains only; the
checkpointer (every few seconds in ``fiscaflow serve``) keeps that window small.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg

from commands.application import EVENT_STORE_SCHEMA

EVENTS = f"{EVENT_STORE_SCHEMA}.fiscaflow_events"
CHECKPOINTS = f"{EVENT_STORE_SCHEMA}.checkpoints"
ZERO = bytes(32)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_CHECKPOINT = 10_000  # events per checkpoint at most


def signed(number: int, size: int) -> bytes:
    """Like PostgreSQL's int4send/int8send: big-endian two's complement."""
    return number.to_bytes(size, "big", signed=True)


def event_hash(prev: bytes, row: dict[str, Any]) -> bytes:
    """The hash the database's trigger gives an event, computed again here."""
    topic = row["topic"].encode()
    state = bytes(row["state"])
    metadata = None if row["metadata"] is None else row["metadata"].encode()
    micros = (row["recorded_at"] - EPOCH) // dt.timedelta(microseconds=1)
    parts = [
        prev, UUID(str(row["originator_id"])).bytes, signed(row["originator_version"], 8),
        signed(len(topic), 4), topic, signed(len(state), 4), state,
        signed(-1 if metadata is None else len(metadata), 4), metadata or b"", signed(micros, 8),
    ]  # fmt: skip
    return hashlib.sha256(b"".join(parts)).digest()


def checkpoint_digest(prev: bytes, positions: list[int], hashes: list[bytes]) -> bytes:
    digest = hashlib.sha256(prev)
    for position, hashed in zip(positions, hashes, strict=True):
        digest.update(position.to_bytes(8, "big", signed=True) + hashed)
    return digest.digest()


@dataclass
class Finding:
    kind: str  # modified, deleted, inserted, reordered
    position: int | None
    aggregate_id: str | None
    version: int | None
    detail: str


@dataclass
class Report:
    events: int = 0
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def first(self, kind: str) -> Finding | None:
        return next((f for f in self.findings if f.kind == kind), None)

    def add(self, kind: str, row: dict[str, Any] | None, detail: str, position: int | None = None) -> None:
        if self.first(kind) is None:  # the first of each kind names it; counting the rest adds noise
            self.findings.append(
                Finding(
                    kind,
                    row["notification_id"] if row else position,
                    str(row["originator_id"]) if row else None,
                    row["originator_version"] if row else None,
                    detail,
                )
            )


def rows(
    conn: psycopg.Connection[Any], where: str = "", params: tuple[Any, ...] = ()
) -> Iterator[dict[str, Any]]:
    with conn.cursor(name="audit", row_factory=psycopg.rows.dict_row) as curs:
        curs.itersize = 2000
        columns = "notification_id, originator_id, originator_version, topic, state, metadata, recorded_at"
        query = f"SELECT {columns}, event_hash FROM {EVENTS} {where} ORDER BY notification_id"  # noqa: S608
        curs.execute(query, params)  # type: ignore[arg-type]
        yield from curs


def verify(conninfo: str, progress: Callable[[int], None] | None = None) -> Report:
    """Check the whole store: every chain, every checkpoint."""
    report = Report()
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        check_checkpoints(conn, report)  # first: they name a deleted event's own position
        check_chains(conn, report, progress)
    return report


def check_chains(
    conn: psycopg.Connection[Any], report: Report, progress: Callable[[int], None] | None
) -> None:
    last: dict[Any, tuple[int, bytes]] = {}  # aggregate -> (version, hash) met last
    for row in rows(conn):
        report.events += 1
        if progress is not None and report.events % 1000 == 0:
            progress(1000)
        stored = bytes(row["event_hash"] or b"")
        version, prev = last.get(row["originator_id"], (0, ZERO))
        if row["originator_version"] != version + 1:
            kind = "reordered" if row["originator_version"] <= version else "deleted"
            report.add(kind, row, f"version {row['originator_version']} follows version {version}")
        elif event_hash(prev, row) != stored:
            report.add("modified", row, "its content or its predecessor's hash does not give its hash")
        last[row["originator_id"]] = (max(version, row["originator_version"]), stored)
    if progress is not None:
        progress(report.events % 1000)


def check_checkpoints(conn: psycopg.Connection[Any], report: Report) -> None:
    prev = ZERO
    for checkpoint in conn.execute(
        f"SELECT after_position, up_to, positions, hashes, digest FROM {CHECKPOINTS} ORDER BY checkpoint_id"  # noqa: S608
    ).fetchall():
        after, up_to, positions, hashes, digest = checkpoint
        hashes = [bytes(h) for h in hashes]
        report.checkpoints += 1
        if checkpoint_digest(prev, positions, hashes) != bytes(digest):
            report.add("modified", None, f"checkpoint up to {up_to} was altered", up_to)
        prev = bytes(digest)
        actual = {
            r["notification_id"]: r
            for r in rows(conn, "WHERE notification_id > %s AND notification_id <= %s", (after, up_to))
        }
        recorded = dict(zip(positions, hashes, strict=True))
        compare(report, recorded, actual)


def compare(report: Report, recorded: dict[int, bytes], actual: dict[int, dict[str, Any]]) -> None:
    """A checkpoint's positions and hashes against the rows now at those positions."""
    where = {h: p for p, h in recorded.items()}
    for position in sorted(set(recorded) | set(actual)):
        row = actual.get(position)
        if row is None:
            report.add("deleted", None, "a checkpointed event is gone", position)
        elif position not in recorded:
            report.add("inserted", row, "this position was not in the checkpoint")
        elif bytes(row["event_hash"]) != recorded[position]:
            moved = where.get(bytes(row["event_hash"]))
            if moved is not None:
                report.add("reordered", row, f"checkpointed at position {moved}")
            else:
                report.add("modified", row, "its hash is not the checkpointed one")


def checkpoint(conninfo: str) -> int:
    """Record the order of the events since the last checkpoint; how many it covers."""
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('fiscaflow.audit.checkpoint'))")
        last = conn.execute(
            f"SELECT up_to, digest FROM {CHECKPOINTS} ORDER BY checkpoint_id DESC LIMIT 1"  # noqa: S608
        ).fetchone()
        after, prev = (last[0], bytes(last[1])) if last else (0, ZERO)
        found = conn.execute(
            f"SELECT notification_id, event_hash FROM {EVENTS} WHERE notification_id > %s"  # noqa: S608
            " ORDER BY notification_id LIMIT %s",
            (after, MAX_CHECKPOINT),
        ).fetchall()
        if not found:
            return 0
        positions, hashes = [r[0] for r in found], [bytes(r[1]) for r in found]
        conn.execute(
            f"INSERT INTO {CHECKPOINTS} (after_position, up_to, positions, hashes, digest)"  # noqa: S608
            " VALUES (%s, %s, %s, %s, %s)",
            (after, positions[-1], positions, hashes, checkpoint_digest(prev, positions, hashes)),
        )
        return len(found)


def head(conninfo: str) -> bytes:
    """The digest of the latest checkpoint: the chain's head (a period close records it)."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(f"SELECT digest FROM {CHECKPOINTS} ORDER BY checkpoint_id DESC LIMIT 1").fetchone()  # noqa: S608
    return bytes(row[0]) if row else ZERO
