"""Expiring holds: pending transactions whose authorisation ran out release their amount.

``expire_holds`` is one sweep (the CLI's ``fiscaflow holds expire`` runs it once); the
``hold_sweep`` is the work ``fiscaflow serve`` runs every minute (commands/periodic.py).
A sweep is safe to run anywhere and twice: each expiry re-checks the aggregate and appends
with optimistic concurrency, so a hold posted or voided meanwhile is left alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from commands.transactions import TransactionCommands
from ledger.errors import DomainError
from queries.db import ReadStore
from queries.transactions import expired_holds

log = logging.getLogger("fiscaflow.holds")


def expire_holds(commands: TransactionCommands, reads: ReadStore, now: dt.datetime | None = None) -> int:
    """Expire every hold that ran out by ``now``; returns how many expired."""
    now = now or dt.datetime.now(dt.UTC)
    expired = 0
    while True:
        due = expired_holds(reads, now)
        done = 0
        for household_id, transaction_id in due:
            try:
                if commands.expire(household_id, transaction_id, now) is not None:
                    done += 1
            except DomainError as error:  # e.g. a closed account: leave it for a person
                log.warning("hold %s not expired: %s", transaction_id, error)
        expired += done
        if done == 0 or len(due) < 1000:
            return expired


def hold_sweep(commands: TransactionCommands, reads: ReadStore) -> Callable[[], int]:
    """The periodic work of ``fiscaflow serve``: expire what ran out by now."""
    return lambda: expire_holds(commands, reads)
