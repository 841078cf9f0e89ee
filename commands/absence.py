"""Aggregates recently seen absent, so that hot write paths skip reading them again.

Most households never close a period and never change their category tree: reading those
aggregates on every command costs a round trip for nothing. A write path that uses this
cache makes its append depend on the aggregate still being absent (``depends_on`` version
0, checked under the events table's lock), so a stale entry cannot slip through: the
append fails as a conflict, the write path forgets every aggregate the append depended on,
and the retry reads them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from uuid import UUID

SECONDS = 30.0


class Absences:
    """Ids seen absent, each for ``seconds``."""

    def __init__(self, seconds: float = SECONDS) -> None:
        self.seconds = seconds
        self._until: dict[UUID, float] = {}
        self._lock = threading.Lock()

    def known(self, aggregate_id: UUID) -> bool:
        return self._until.get(aggregate_id, 0.0) > time.monotonic()

    def seen(self, aggregate_id: UUID) -> None:
        with self._lock:
            if len(self._until) > 100_000:  # bounded: expired entries go first
                now = time.monotonic()
                self._until = {k: v for k, v in self._until.items() if v > now}
            self._until[aggregate_id] = time.monotonic() + self.seconds

    def forget(self, aggregate_ids: Iterable[UUID]) -> None:
        if not self._until:
            return
        with self._lock:
            for aggregate_id in aggregate_ids:
                self._until.pop(aggregate_id, None)


ABSENT = Absences()
