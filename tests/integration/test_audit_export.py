"""`fiscaflow audit export` and `verify-export` against the real PostgreSQL: the bundle holds
exactly the household's events recorded in the range, its signature and hashes verify, and
one flipped byte, a forged event or another key makes verification fail."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from commands.audit_bundle import check_bundle, dumps, new_signing_key, public_key, sign
from tests.integration.helpers import Books
from tests.integration.test_cli import fiscaflow

pytestmark = pytest.mark.integration
KEY = new_signing_key()
ENV = {"FISCAFLOW_AUDIT_SIGNING_KEY": base64.b64encode(KEY).decode()}


def said(result: Any) -> str:
    """What a command told on stderr, with rich's line wrapping undone."""
    return " ".join(result.stderr.split())


def last_recorded(database: str) -> dt.datetime:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT max(recorded_at) FROM eventstore.fiscaflow_events").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def positions(database: str, aggregates: list[uuid.UUID], start: dt.datetime, end: dt.datetime) -> list[int]:
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT notification_id FROM eventstore.fiscaflow_events WHERE originator_id = ANY(%s)"
            " AND recorded_at > %s AND recorded_at <= %s ORDER BY notification_id",
            (aggregates, start, end),
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def books(database: str) -> dict[str, Any]:
    """Two households; ours has events before, inside and after the exported range, and
    the other one records inside the range too."""
    books = Books(database)
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    account, other = books.open(ours), books.open(theirs)
    books.record(ours, "income", account, "1.00")
    start = last_recorded(database)
    inside = [account, books.open(ours, "Savings")]
    inside.append(books.record(ours, "income", account, "10.00", description="in range"))
    books.record(theirs, "income", other, "99.00", description="not ours")
    inside.append(books.record(ours, "expense", account, "4.00", date=dt.date(2026, 10, 1)))
    end = last_recorded(database)
    books.record(ours, "income", account, "2.00")
    books.close()
    return {
        "household": ours,
        "start": start,
        "end": end,
        "expected": positions(database, inside, start, end),
    }


def export(database: str, out: Path, scope: dict[str, Any], env: dict[str, str] = ENV) -> Any:
    start = (scope["start"] + dt.timedelta(microseconds=1)).isoformat()
    return fiscaflow(
        "audit", "export", "--household", str(scope["household"]), "--from", start,
        "--to", scope["end"].isoformat(), "--out", str(out), env={"DATABASE_URL": database, **env},
    )  # fmt: skip


def test_the_bundle_holds_the_households_events_in_range_and_verifies(
    database: str, books: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "bundle.jsonl"
    result = export(database, out, books)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert [line["kind"] for line in (lines[0], lines[-1])] == ["header", "verification"]
    events = lines[1:-1]
    assert [e["position"] for e in events] == books["expected"]
    assert len(events) == 1 + 2 * 2  # savings opened; two entries, each with its posting
    assert all("not ours" not in json.dumps(e) for e in events)
    recorded = [e for e in events if e["type"] == "Transaction.Recorded"]
    assert [r["data"]["description"] for r in recorded] == ["in range", ""]
    assert all(len(bytes.fromhex(e["event_hash"])) == 32 for e in events)
    report = lines[-1]
    assert (report["ok"], report["events"], report["store"]["ok"], report["exported"]["ok"]) == (
        True,
        5,
        True,
        True,
    )
    assert report["store"]["events"] > len(events)  # the whole store was verified
    assert len((tmp_path / "bundle.jsonl.sig").read_bytes()) == 64

    checked = fiscaflow("audit", "verify-export", str(out), env=ENV)
    assert checked.returncode == 0, checked.stderr
    assert "signature: valid" in said(checked) and "5 events" in said(checked)
    public = base64.b64encode(public_key(KEY)).decode()
    assert fiscaflow("audit", "verify-export", str(out), "--public-key", public).returncode == 0


def test_one_flipped_byte_a_forged_event_or_another_key_fails(
    database: str, books: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "bundle.jsonl"
    assert export(database, out, books).returncode == 0
    bundle = out.read_bytes()
    signature = (tmp_path / "bundle.jsonl.sig").read_bytes()
    at = bundle.index(b'"in range"') + 2
    flipped = tmp_path / "flipped.jsonl"
    flipped.write_bytes(bundle[:at] + bytes([bundle[at] ^ 0x01]) + bundle[at + 1 :])
    (tmp_path / "flipped.jsonl.sig").write_bytes(signature)
    result = fiscaflow("audit", "verify-export", str(flipped), env=ENV)
    assert result.returncode == 1
    assert "signature: INVALID" in said(result)

    # Someone with the key re-signs an event whose stored bytes changed: the hash says so.
    lines = [json.loads(line) for line in bundle.splitlines()]
    forged = next(line for line in lines if line.get("type") == "Transaction.Recorded")
    state = base64.b64decode(forged["stored"]["state"]).replace(b"10.00", b"11.00")
    forged["stored"]["state"] = base64.b64encode(state).decode()
    rewritten = b"".join(dumps(line) for line in lines)
    check = check_bundle(rewritten, sign(rewritten, KEY), public_key(KEY))
    assert check.signature_ok and not check.ok
    assert [(f["kind"], f["position"]) for f in check.findings] == [("modified", forged["position"])]

    stranger = base64.b64encode(public_key(new_signing_key())).decode()
    other = fiscaflow("audit", "verify-export", str(out), "--public-key", stranger)
    assert other.returncode == 1 and "signature: INVALID" in said(other)


def test_bad_input_is_refused_clearly(database: str, tmp_path: Path) -> None:
    household = str(uuid.uuid4())
    out = str(tmp_path / "b.jsonl")
    db = {"DATABASE_URL": database}
    keyless = fiscaflow("audit", "export", "--household", household, "--out", out, env=db)
    assert keyless.returncode == 2 and "FISCAFLOW_AUDIT_SIGNING_KEY is not set" in said(keyless)
    naive = fiscaflow(
        "audit", "export", "--household", household, "--from", "2026-11-01T00:00", "--out", out, env=db | ENV
    )
    assert naive.returncode == 2 and "time zone" in said(naive)
    bad_key = fiscaflow(
        "audit",
        "export",
        "--household",
        household,
        "--out",
        out,
        env=db | {"FISCAFLOW_AUDIT_SIGNING_KEY": "short"},
    )
    assert bad_key.returncode == 2 and "32 bytes in base64" in said(bad_key)
    nowhere = str(tmp_path / "no" / "such" / "b.jsonl")
    unwritable = fiscaflow("audit", "export", "--household", household, "--out", nowhere, env=db | ENV)
    assert unwritable.returncode == 2 and "cannot write" in said(unwritable)
    missing = fiscaflow("audit", "verify-export", str(tmp_path / "none.jsonl"), env=ENV)
    assert missing.returncode == 2 and "no file" in said(missing)
    for command in ("export", "verify-export", "keygen"):
        helped = fiscaflow("audit", command, "--help")
        assert helped.returncode == 0 and "Usage" in helped.stdout
    made = fiscaflow("audit", "keygen")
    assert made.returncode == 0 and made.stdout.startswith("FISCAFLOW_AUDIT_SIGNING_KEY=")
    assert "BEGIN PUBLIC KEY" in said(made)
