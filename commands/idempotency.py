"""Idempotency keys: a retried command gives the same answer and appends nothing.

The key is recorded in the same database transaction as the command's events (see
``commands/recorder.py``), so "appended" and "key taken" can never disagree, even when
the process dies between COMMIT and the answer. A replay rebuilds the answer (aggregate,
version, consistency token) from the events the first attempt appended.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool

from commands.idempotency_key import DuplicateRequestError, IdempotencyKey, recording
from commands.write_path import Appended
from ledger.errors import ConflictError

RETENTION = timedelta(hours=24)


class IdempotencyMismatchError(ConflictError):
    type = "idempotency-key-reused"
    title = "Idempotency-Key reused with another request"


class IdempotencyStore:
    """Looks up what an earlier attempt with the same key appended."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def find(self, key: IdempotencyKey) -> Appended | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT fingerprint, subject_id, subject_version, originator_ids, versions"
                " FROM eventstore.idempotency_keys WHERE scope = %s AND key = %s"
                " AND created_at > now() - %s",
                (key.scope, key.key, RETENTION),
            ).fetchone()
            if row is None:
                return None
            if bytes(row[0]) != key.fingerprint:
                raise IdempotencyMismatchError("this Idempotency-Key was used for another request")
            position = conn.execute(
                "SELECT max(e.notification_id) FROM eventstore.fiscaflow_events e"
                " JOIN unnest(%s::uuid[], %s::int[]) AS k(id, v)"
                " ON e.originator_id = k.id AND e.originator_version = k.v",
                (row[3], row[4]),
            ).fetchone()
        created = tuple(UUID(str(i)) for i, v in zip(row[3], row[4], strict=True) if v == 1)
        found = int(position[0]) if position and position[0] else 0
        return Appended(UUID(str(row[1])), int(row[2]), found, created, len(row[3]))

    def run(self, key: IdempotencyKey | None, command: Callable[[], Appended]) -> Appended:
        """Run a command once per key: a repeat answers what the first attempt answered."""
        if key is None:
            return command()
        earlier = self.find(key)
        if earlier is not None:
            return earlier
        try:
            with recording(key):
                return command()
        except DuplicateRequestError:
            replay = self.find(key)
            if replay is None:  # pragma: no cover - the key row committed with the events
                raise
            return replay
