"""With the events table locked by another writer (EXCLUSIVE, as a stuck append holds it), a
command fails fast and writes nothing."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from commands.write_path import StoreUnavailableError
from tests.integration.helpers import Books

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
LOCK_TIMEOUT = 1


def test_a_locked_events_table_answers_within_the_lock_timeout(database: str) -> None:
    books = Books(database, lock_timeout=LOCK_TIMEOUT)
    household = uuid.uuid4()
    account = books.open(household)
    with psycopg.connect(database) as blocker:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE eventstore.fiscaflow_events IN EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            books.record(household, "income", account, "1.00")
        elapsed = time.monotonic() - started
        blocker.execute("ROLLBACK")
    assert elapsed < LOCK_TIMEOUT + 1, f"answered after {elapsed:.1f} s"
    with psycopg.connect(database) as conn:
        count = conn.execute("SELECT count(*) FROM eventstore.fiscaflow_events").fetchone()
    assert count == (1,)  # the account's Opened only: nothing half-written
    books.record(household, "income", account, "1.00")  # and the store works again
    books.close()
