"""Loading aggregates for a household: another household's aggregate does not exist."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from commands.application import Ledger
from commands.group_commit import waiting_from_now
from commands.history import describe
from commands.write_path import StoreUnavailableError
from ledger.account import AccessLevel, Account
from ledger.errors import ConcurrencyConflictError, NotFoundError
from ledger.transaction import Transaction
from ledger.user import User

T = TypeVar("T", Account, Transaction)
RETRIES = 8


def load(app: Ledger, kind: type[T], household_id: UUID, aggregate_id: UUID) -> T:
    """The aggregate if it exists, is of this kind and belongs to the household; else 404."""
    try:
        aggregate = app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        aggregate = None
    if not isinstance(aggregate, kind) or aggregate.household_id != household_id:
        raise NotFoundError(f"no {kind.__name__.lower()} {aggregate_id}")
    return aggregate


def load_account(
    app: Ledger, household_id: UUID, account_id: UUID, actor: UUID | None, needed: AccessLevel
) -> Account:
    """The account if the actor may at least see it (else 404) and has ``needed`` (else 403)."""
    account = load(app, Account, household_id, account_id)
    if account.access_for(actor) is AccessLevel.NONE:
        raise NotFoundError(f"no account {account_id}")
    account.check_access(actor, needed)
    return account


def load_user(app: Ledger, user_id: UUID, *, allow_inactive: bool = False) -> User:
    """The user, if it exists (and is active, unless allowed otherwise); else 404."""
    try:
        user = app.repository.get(user_id)
    except AggregateNotFoundError:
        user = None
    if not isinstance(user, User) or (not allow_inactive and not user.is_active):
        raise NotFoundError(f"no user {user_id}")
    return user


def check_expected_version(app: Ledger, aggregate: Account | Transaction, expected: int | None) -> None:
    """If-Match: refuse a stale edit and show the changes it would overwrite."""
    if expected is None or expected == aggregate.version:
        return
    competing = (
        [describe(e) for e in app.events.get(aggregate.id, gt=expected)]
        if expected < aggregate.version
        else []
    )
    raise ConcurrencyConflictError(
        f"expected version {expected}, but the current version is {aggregate.version}",
        current_version=aggregate.version,
        competing_changes=competing,
    )


R = TypeVar("R")


class StripedLocks:
    """In-process locks by aggregate id, so writers in one process queue instead of
    colliding; across processes, optimistic concurrency still decides."""

    def __init__(self, stripes: int = 256) -> None:
        self.locks = [threading.Lock() for _ in range(stripes)]

    @contextmanager
    def holding(self, ids: Iterable[UUID], timeout: float = 0) -> Iterator[None]:
        """Hold the locks of ``ids``, waiting at most ``timeout`` seconds (0: as long as it
        takes), else StoreUnavailableError (503). The wait counts against the append's
        lock timeout too: a command queued behind others on a busy account answers within
        its timeout, not after theirs and then its own."""
        # Sorted, de-duplicated stripes: two writers never wait for each other in a cycle.
        stripes = sorted({hash(i) % len(self.locks) for i in ids})
        with waiting_from_now() as since, ExitStack() as stack:
            for stripe in stripes:
                left = since + timeout - time.monotonic() if timeout > 0 else -1
                if not self.locks[stripe].acquire(timeout=max(left, 0) if timeout > 0 else -1):
                    raise StoreUnavailableError(f"the account is busy for more than {timeout:g} s")
                stack.callback(self.locks[stripe].release)
            yield


def append_timeout(app: Ledger) -> float:
    """The seconds an append may wait for the events table's lock (FISCAFLOW_LOCK_TIMEOUT)."""
    return float(getattr(getattr(app.recorder, "datastore", None), "lock_timeout", 0) or 0)


def with_retries(attempt: Callable[[], R]) -> R:
    """Re-run a load-decide-save attempt when another writer won the race (bounded,
    with jittered back-off). A stale If-Match is not retried: the client must decide."""
    for n in range(RETRIES):
        try:
            return attempt()
        except ConcurrencyConflictError as error:
            if error.extra.get("current_version") is not None or n == RETRIES - 1:
                raise
            time.sleep(random.uniform(0, 0.005 * (2**n)))  # noqa: S311 - jitter, not crypto
    raise AssertionError("unreachable")
