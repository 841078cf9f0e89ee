"""The audit bundle of a household: its stored events in a range of recorded times, each with
the bytes its hash covers, its hash and its predecessor's hash, then a verification report;
as JSON lines, signed with a detached Ed25519 signature (commands/audit_bundle.py checks it).

The household's events are those of the aggregates whose first event names the household
(accounts, transactions, budgets, ...), and of the household aggregate itself. Each line
shows the decoded data as the audit API shows it (personal data as a reader without the
subjects' keys sees it), and the stored bytes (state, metadata text, recorded time) that the
hash chain covers, so that a verifier recomputes every hash without the database.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from commands import audit
from commands.audit_bundle import FORMAT, check_events, dumps, sign
from ledger.transcodings import event_mapper
from projections.base import notification
from queries.audit import _event as audit_event  # the audit API's own shape of an event

MAPPER = event_mapper()
# First events that may name the household: a byte search, confirmed by decoding (a state is
# not always text a cast would take).
CANDIDATES = f"""
SELECT notification_id, originator_id, originator_version, topic, state FROM {audit.EVENTS}
WHERE originator_version = 1 AND position(%s::bytea IN state) > 0
"""  # noqa: S608 - constant table name
EVENTS = f"""
SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, e.metadata,
       e.recorded_at, e.event_hash, p.event_hash AS previous_hash
FROM {audit.EVENTS} e
LEFT JOIN {audit.EVENTS} p
  ON p.originator_id = e.originator_id AND p.originator_version = e.originator_version - 1
WHERE e.originator_id = ANY(%s) AND (%s::timestamptz IS NULL OR e.recorded_at >= %s)
  AND (%s::timestamptz IS NULL OR e.recorded_at <= %s)
ORDER BY e.notification_id
"""  # noqa: S608 - constant table name


@dataclass(frozen=True)
class Scope:
    household_id: UUID
    recorded_from: dt.datetime | None  # open when None
    recorded_to: dt.datetime | None


def household_aggregates(conn: psycopg.Connection[Any], household_id: UUID) -> list[UUID]:
    """The household aggregate and every aggregate whose first event names the household."""
    found = [household_id]
    for row in conn.execute(CANDIDATES, (household_id.hex.encode(),)):
        first = MAPPER.to_domain_event(notification(row))
        if getattr(first, "household_id", None) == household_id:
            found.append(row[1])
    return found


def event_line(row: dict[str, Any]) -> dict[str, Any]:
    """One event of the bundle: the audit API's view of it and the bytes its hash covers."""
    decoded = MAPPER.to_domain_event(
        notification((row["notification_id"], row["originator_id"], row["originator_version"],
                      row["topic"], row["state"]))
    )  # fmt: skip
    shown = audit_event(row, decoded)
    return {
        "kind": "event",
        "position": shown.position,
        "aggregate_id": str(shown.aggregate_id),
        "version": shown.version,
        "type": shown.type,
        "recorded_at": row["recorded_at"].astimezone(dt.UTC).isoformat(),
        "timestamp": shown.timestamp.isoformat(),
        "metadata": shown.metadata,
        "data": shown.data,
        "stored": {
            "topic": row["topic"],
            "state": base64.b64encode(bytes(row["state"])).decode(),
            "metadata": row["metadata"],
        },
        "event_hash": bytes(row["event_hash"] or b"").hex(),
        "previous_hash": bytes(row["previous_hash"] or audit.ZERO).hex(),
    }


def read_events(conninfo: str, scope: Scope) -> Iterator[dict[str, Any]]:
    """The scope's events, oldest position first, read in one snapshot."""
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        aggregates = household_aggregates(conn, scope.household_id)
        with conn.cursor(name="export", row_factory=dict_row) as curs:
            curs.itersize = 2000
            start, end = scope.recorded_from, scope.recorded_to
            curs.execute(EVENTS, (aggregates, start, start, end, end))
            for row in curs:
                yield event_line(row)


def header(scope: Scope, now: dt.datetime) -> dict[str, Any]:
    return {
        "kind": "header",
        "format": FORMAT,
        "household_id": str(scope.household_id),
        "recorded_from": scope.recorded_from.isoformat() if scope.recorded_from else None,
        "recorded_to": scope.recorded_to.isoformat() if scope.recorded_to else None,
        "created_at": now.isoformat(),
    }


def report_line(store: audit.Report, lines: list[dict[str, Any]]) -> dict[str, Any]:
    exported = check_events(lines)
    return {
        "kind": "verification",
        "ok": store.ok and not exported,
        "events": len(lines),
        "store": {
            "ok": store.ok,
            "events": store.events,
            "checkpoints": store.checkpoints,
            "findings": [asdict(f) for f in store.findings],
        },
        "exported": {"ok": not exported, "findings": exported},
    }


Progress = Callable[[str, int], None]  # (phase: "exporting" or "verifying", events done since last told)


def export(
    conninfo: str,
    scope: Scope,
    out: Path,
    signing_key: bytes,
    now: dt.datetime,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the bundle to ``out`` and its signature to ``out``.sig; return the report line.
    The store is verified as a whole, the exported events one by one and chain by chain."""
    tell = progress or (lambda phase, n: None)
    lines = []
    for line in read_events(conninfo, scope):
        lines.append(line)
        tell("exporting", 1)
    report = report_line(audit.verify(conninfo, lambda n: tell("verifying", n)), lines)
    bundle = b"".join(dumps(line) for line in [header(scope, now), *lines, report])
    out.write_bytes(bundle)
    signature_path(out).write_bytes(sign(bundle, signing_key))
    return report


def signature_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".sig")
