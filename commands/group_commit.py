"""Group commit: the appends that threads of one process ask for at the same moment are
stored by one of them, in one transaction, under one hold of the events table's lock and
one WAL flush, each keeping its own outcome.

Appends take the events table's lock until their commit is flushed (so that positions
commit in order: readers tail the log without passing an uncommitted lower position).
With one commit per append, 32 writers got 2,200-2,800 one-event appends/s on the 2-core
bench machine (`fiscaflow bench --only commits`), and under HTTP load half of PostgreSQL's
backends waited for the lock; grouped, 8,500-11,900. Here the first thread to arrive leads: it takes
every waiting request (up to a limit), stores them in one statement, hands each its
outcome, and passes the lead to the first request that arrived meanwhile. Nobody waits
for a batch to fill: alone, a request is stored at once, exactly as before; under load,
the requests that arrive while one group commits form the next group.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from opentelemetry import metrics

MAX_REQUESTS = 32  # per group: each request is a subtransaction (PostgreSQL caches 64 per backend)
MAX_EVENTS = 2_000  # per group: a bulk append is stored on its own

GROUP_SIZES = metrics.get_meter("fiscaflow.commands").create_histogram(
    "fiscaflow.append.group_size",
    unit="{append}",
    description="Appends stored together in one transaction (group commit)",
    explicit_bucket_boundaries_advisory=[1, 2, 4, 8, 16, 32],
)

# When the command whose append this is began to wait (for an in-process account lock, for a
# group to be stored, for the events table's lock): all of it counts against the lock timeout.
STARTED: ContextVar[float | None] = ContextVar("fiscaflow_append_started", default=None)


def started() -> float:
    return STARTED.get() or time.monotonic()


@contextmanager
def waiting_from_now() -> Iterator[float]:
    """The current command's waits count from here (or from where an outer block said)."""
    since = STARTED.get()
    if since is not None:
        yield since
        return
    token = STARTED.set(time.monotonic())
    try:
        yield STARTED.get() or 0.0
    finally:
        STARTED.reset(token)


@dataclass(eq=False, slots=True)
class Request:
    """One append: its events, what it read, its idempotency key and audit context, and,
    once stored, its positions or the error it gets."""

    events: Sequence[StoredEvent]
    read: dict[UUID, int]
    key: tuple[Any, ...] | None
    audit: str
    positions: list[int] | None = None
    error: BaseException | None = None
    leads: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    arrived: float = field(default_factory=started)  # its wait counts from here

    def outcome(self) -> list[int]:
        if self.error is not None:
            raise self.error
        if self.positions is None:  # pragma: no cover - the leader always answers
            raise RuntimeError("group commit: request left without an outcome")
        return self.positions


def lock_timeout(requests: Sequence[Request], seconds: float) -> str:
    """How long the append of ``requests`` may wait for the events table's lock: what is
    left of ``seconds`` for the one that has waited longest (its wait for a group to be
    stored counts), and at least 1 ms (a free lock is still taken). A request queued behind
    a group that timed out answers within its own timeout, not after two. 0: no timeout."""
    if seconds <= 0:
        return "0"
    deadline = min(request.arrived for request in requests) + seconds
    return f"{max(1, int((deadline - time.monotonic()) * 1000))}ms"


def copy_error(error: BaseException) -> BaseException:
    """The same error for another thread to raise (one exception object raised in several
    threads would share and grow one traceback)."""
    try:
        copy = type(error)(*error.args)
    except Exception:
        copy = RuntimeError(str(error))
    copy.__cause__ = error.__cause__ if error.__cause__ is not None else error
    return copy


class GroupCommit:
    """Coalesces concurrent requests; ``store(group)`` stores a group and sets each
    request's ``positions`` or ``error`` (it may raise: every request of the group then
    gets that error)."""

    def __init__(
        self,
        store: Callable[[list[Request]], None],
        *,
        max_requests: int = MAX_REQUESTS,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self.store = store
        self.max_requests = max_requests
        self.max_events = max_events
        self.mutex = threading.Lock()
        self.waiting: list[Request] = []
        self.leading = False  # a thread is storing a group now
        self.groups = 0  # how many groups, and requests in them, were stored (for the bench)
        self.requests = 0

    def submit(self, request: Request) -> list[int]:
        """Store ``request`` (with whatever else is waiting) and return its positions, or
        raise its error."""
        with self.mutex:
            self.waiting.append(request)
            if not self.leading:
                self.leading = request.leads = True
        if not request.leads:
            request.done.wait()
            if not request.leads:  # stored by another thread
                return request.outcome()
        self.lead()
        return request.outcome()

    def take(self) -> list[Request]:
        """The next group, in arrival order: the leader is first (it was waiting longest)."""
        events, size = 0, 0
        for request in self.waiting:
            if size == self.max_requests or (size and events + len(request.events) > self.max_events):
                break
            events += len(request.events)
            size += 1
        group = self.waiting[:size]
        del self.waiting[:size]
        return group

    def lead(self) -> None:
        with self.mutex:
            group = self.take()
            self.groups += 1
            self.requests += len(group)
        GROUP_SIZES.record(len(group))
        try:
            self.store(group)
        except BaseException as error:
            for request in group:
                if request.positions is None and request.error is None:
                    request.error = error if request.leads else copy_error(error)
            if not isinstance(error, Exception):
                raise
        finally:
            for request in group:
                if request.positions is None and request.error is None:  # pragma: no cover
                    request.error = RuntimeError("group commit: the group was stored without this request")
            with self.mutex:
                if self.waiting:
                    successor = self.waiting[0]
                    successor.leads = True
                    successor.done.set()
                else:
                    self.leading = False
            for request in group:
                if not request.leads:
                    request.done.set()
