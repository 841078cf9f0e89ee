"""Who and why on the events a background job appends: the job's name as the command, no
user, and a fresh correlation id for each round (commands/periodic.py)."""

from __future__ import annotations

import json
import threading
import uuid

import psycopg
import pytest

from commands.periodic import Periodic
from tests.integration.helpers import Books

pytestmark = pytest.mark.integration


def test_each_round_of_a_job_records_itself_on_its_events(database: str) -> None:
    books = Books(database)
    household = uuid.uuid4()
    opened: list[uuid.UUID] = []
    done = threading.Event()

    def work() -> int:
        if len(opened) < 2:
            opened.append(books.open(household, f"Job account {len(opened)}"))
        else:
            done.set()
        return 1

    job = Periodic("test-job", work, 0.01)
    job.start()
    try:
        assert done.wait(30), "the job did not run twice in 30 s"
    finally:
        job.stop()
        books.close()
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT originator_id, metadata FROM eventstore.fiscaflow_events WHERE originator_id = ANY(%s)",
            (opened,),
        ).fetchall()
    who = {row[0]: json.loads(row[1]) for row in rows}
    assert set(who) == set(opened)
    assert {w["command"] for w in who.values()} == {"job:test-job"}
    assert all(w["actor"] is None and w["household"] is None for w in who.values())
    assert len({w["correlation_id"] for w in who.values()}) == 2  # one per round
