"""The correlation id and command of the request or job that made an event travel with it:
into the relay's messages (AMQP property and JSON body) and into the log lines of a
projector applying it, including the error logged when the projector fails on it."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import singledispatchmethod
from typing import Any

import pytest
from kombu import Connection

from commands.audit_context import AUDIT
from ledger.transaction import Transaction
from projections.accounts.projection import AccountsProjection
from projections.registry import PROJECTIONS
from projections.relay.consumer import event_queue
from projections.relay.publisher import Relay
from projections.supervisor import Supervisor
from tests.integration.helpers import Books
from tests.logs import captured, json_lines
from tests.rabbit import received, virtual_host

pytestmark = pytest.mark.integration


@contextmanager
def made_by(correlation_id: str, command: str) -> Iterator[None]:
    """Who and why of the events appended inside, as a request would set them."""
    token = AUDIT.set(
        {
            "actor": None,
            "household": None,
            "correlation_id": correlation_id,
            "command": command,
            "client": None,
        }
    )
    try:
        yield
    finally:
        AUDIT.reset(token)


def history(database: str, tag: str) -> None:
    """An account opened by one request and a transaction recorded by another."""
    books = Books(database)
    household = uuid.uuid4()
    try:
        with made_by(f"open-{tag}", "openAccount"):
            account = books.open(household)
        with made_by(f"record-{tag}", "recordTransaction"):
            books.record(household, "income", account, "12.34")
    finally:
        books.close()


def test_the_relay_publishes_the_correlation_id_and_command_of_each_event(database: str) -> None:
    tag = uuid.uuid4().hex[:8]
    with virtual_host() as (_, url):
        queue = event_queue(f"correlation-{tag}")
        with Connection(url) as conn:
            queue(conn.default_channel).declare()
        history(database, tag)
        assert Relay(database, url).catch_up() == 3
        messages = received(url, queue)
    made = [(body["type"], body["correlation_id"], body["command"]) for body, _ in messages]
    assert made == [
        ("Account.Opened", f"open-{tag}", "openAccount"),
        ("Transaction.Recorded", f"record-{tag}", "recordTransaction"),
        ("Account.PostingApplied", f"record-{tag}", "recordTransaction"),  # same append
    ]
    assert [properties["correlation_id"] for _, properties in messages] == [
        f"open-{tag}", f"record-{tag}", f"record-{tag}"
    ]  # fmt: skip


class FailingAccounts(AccountsProjection):
    """Logs a line and then fails on every recorded transaction."""

    @singledispatchmethod
    def apply(self, event: object, curs: Any) -> None:
        if isinstance(event, Transaction.Recorded):
            logging.getLogger("fiscaflow.test").warning("about to fail on purpose")
            raise RuntimeError("failed on purpose")
        super().apply(event, curs)


def test_a_projectors_lines_and_its_failure_carry_the_events_correlation_id(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    history(database, tag)
    monkeypatch.setitem(PROJECTIONS, "accounts", FailingAccounts)
    with captured("production") as stream:
        supervisor = Supervisor(database, ["accounts"])
        supervisor.start()
        deadline = time.monotonic() + 30
        while supervisor.states["accounts"].failures == 0:
            assert time.monotonic() < deadline, "the projector did not fail"
            time.sleep(0.05)
        supervisor.stop()
    lines = json_lines(stream.getvalue())
    warning = next(line for line in lines if line["event"] == "about to fail on purpose")
    assert (warning["correlation_id"], warning["command"]) == (f"record-{tag}", "recordTransaction")
    failure = next(line for line in lines if line["logger"] == "fiscaflow.projections")
    assert failure["level"] == "error" and failure["projection"] == "accounts"
    assert (failure["correlation_id"], failure["command"]) == (f"record-{tag}", "recordTransaction")
    assert "failed on purpose" in failure["exception"]
    assert f"open-{tag}" not in stream.getvalue()  # the account's event applied without a line
