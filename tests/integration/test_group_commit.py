"""Group commit on the real PostgreSQL (commands/recorder.py ``store_group``): several
appends in one transaction, each with its own outcome, as if stored one after the other."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from eventsourcing.persistence import DataError, IntegrityError, OperationalError, StoredEvent

from commands import audit
from commands.group_commit import GroupCommit, Request
from commands.recorder import LedgerRecorder
from tests.integration.helpers import Books

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
TOPIC = "tests.group:Probe"


@pytest.fixture
def books(database: str) -> Iterator[Books]:
    books = Books(database, pool_size=4, lock_timeout=1)
    yield books
    books.close()


def recorder_of(books: Books, alone: list[Request] | None = None) -> LedgerRecorder:
    """The recorder; ``alone`` collects the requests it stores one by one (store_one)."""
    recorder = books.ledger.recorder
    assert isinstance(recorder, LedgerRecorder)
    if alone is not None:
        store_one = recorder.store_one

        def counted(request: Request) -> list[int]:
            alone.append(request)
            return store_one(request)

        recorder.store_one = counted  # type: ignore[method-assign]
    return recorder


def events(originator: uuid.UUID, *versions: int) -> list[StoredEvent]:
    return [StoredEvent(originator, v, TOPIC, json.dumps({"v": v}).encode()) for v in versions]


def ask(
    stored: list[StoredEvent],
    read: dict[uuid.UUID, int] | None = None,
    key: tuple[object, ...] | None = None,
    who: str = "",
) -> Request:
    audit_context = json.dumps({"command": who}) if who else ""
    return Request(stored, read or {}, key, audit_context)


def key(name: str, subject: uuid.UUID) -> tuple[object, ...]:
    return ("tests:group", name, b"fingerprint", subject, 1)


def stored_rows(database: str) -> list[tuple[int, uuid.UUID, int, str | None]]:
    with psycopg.connect(database) as conn:
        return conn.execute(
            "SELECT notification_id, originator_id, originator_version, metadata"
            " FROM eventstore.fiscaflow_events WHERE topic = %s ORDER BY notification_id",
            (TOPIC,),
        ).fetchall()


def test_a_group_stores_each_request_as_if_alone_in_arrival_order(books: Books, database: str) -> None:
    alone: list[Request] = []
    recorder = recorder_of(books, alone)
    x, y, z, w = (uuid.uuid4() for _ in range(4))
    recorder.store_one(ask(events(y, 1)))
    group = [
        ask(events(x, 1, 2), who="first", key=key("k1", x)),
        ask(events(x, 2), who="loses the version race"),  # x's version 2 is the first's
        ask(events(z, 1), read={y: 1}, who="read y at 1"),  # y is still at 1: stored
        ask(events(w, 1), key=key("k1", w), who="same key"),  # the first took k1
        ask(events(y, 2), who="moves y"),
        ask(events(w, 1), read={y: 1}, who="read y at 1, too late"),  # y is at 2 now
        ask(events(x, 3), read={z: 1}, who="after first"),  # sees what earlier requests stored
    ]
    recorder.store_group(group)

    assert len(alone) == 1, "the group was stored in one statement, not one by one"
    refused = [n for n, r in enumerate(group) if r.error is not None]
    assert refused == [1, 3, 5]
    assert all(isinstance(group[n].error, IntegrityError) for n in refused)
    assert "idempotency_keys" in str(group[3].error)
    assert "changed after the command read it" in str(group[5].error)
    rows = stored_rows(database)[1:]  # after y's first
    stored = [group[n] for n in (0, 2, 4, 6)]
    positions = [p for r in stored for p in r.positions or []]
    assert positions == sorted(positions) == [row[0] for row in rows]
    assert [(row[1], row[2]) for row in rows] == [(x, 1), (x, 2), (z, 1), (y, 2), (x, 3)]
    assert [json.loads(row[3])["command"] for row in rows] == [
        "first", "first", "read y at 1", "moves y", "after first"
    ]  # fmt: skip
    with psycopg.connect(database) as conn:
        keys = conn.execute("SELECT key, subject_id FROM eventstore.idempotency_keys").fetchall()
    assert keys == [("k1", x)]
    assert audit.verify(database).findings == []  # the refused rows left no hole in a chain


def test_a_request_the_database_cannot_take_is_stored_alone_and_the_others_are_not_lost(
    books: Books, database: str
) -> None:
    alone: list[Request] = []
    recorder = recorder_of(books, alone)
    good, bad, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    group = [
        ask(events(good, 1)),
        ask([StoredEvent(bad, 1, "tests.group:Nul\x00", b"{}")]),  # no NUL in PostgreSQL text
        ask(events(other, 1)),
    ]
    recorder.store_group(group)
    assert alone == group  # the group failed as a whole: each was then stored alone
    assert isinstance(group[1].error, DataError)
    assert group[0].error is None and group[2].error is None
    assert [(row[1], row[2]) for row in stored_rows(database)] == [(good, 1), (other, 1)]


def test_a_lock_timeout_fails_every_request_of_the_group_at_once(books: Books, database: str) -> None:
    recorder = recorder_of(books)
    group = [ask(events(uuid.uuid4(), 1)) for _ in range(3)]
    with psycopg.connect(database) as holder:
        holder.execute("LOCK TABLE eventstore.fiscaflow_events IN EXCLUSIVE MODE")
        with pytest.raises(OperationalError, match="lock timeout"):
            recorder.store_group(group)
    assert stored_rows(database) == []


def test_concurrent_appends_through_the_recorder_are_grouped_and_all_stored(
    books: Books, database: str
) -> None:
    """Threads appending at once through insert_events: fewer commits than appends, and
    every append stored once, at its own positions."""
    recorder = recorder_of(books)
    recorder.grouping = grouping = GroupCommit(recorder.store_group)
    writers, appends = 8, 40
    start = threading.Barrier(writers)
    answers: dict[uuid.UUID, list[int]] = {}

    def write() -> None:
        originator = uuid.uuid4()
        start.wait()
        answers[originator] = [
            p for v in range(1, appends + 1) for p in recorder.insert_events(events(originator, v)) or []
        ]

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = stored_rows(database)
    assert len(rows) == writers * appends
    assert sorted(p for positions in answers.values() for p in positions) == [row[0] for row in rows]
    for originator, positions in answers.items():
        assert [row[2] for row in rows if row[1] == originator] == list(range(1, appends + 1))
        assert positions == sorted(positions)
    assert grouping.requests == writers * appends
    assert grouping.groups < grouping.requests, "no two appends were ever stored together"
