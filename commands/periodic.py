"""A thread that does one piece of periodic work (expire holds, relay alerts, run schedules,
deliver notifications) every ``interval`` seconds until stopped. A failed round is logged
and retried in the next one: nothing here skips work, every round redoes what is left."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from commands.audit_context import as_job


class Periodic(threading.Thread):
    def __init__(self, name: str, work: Callable[[], int], interval: float) -> None:
        super().__init__(name=name, daemon=True)
        self.work, self.interval = work, interval
        self.log = logging.getLogger(f"fiscaflow.{name}")
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            as_job(f"job:{self.name}")  # the metadata of whatever this round appends
            try:
                if done := self.work():
                    self.log.info("%s: %d done", self.name, done)
            except Exception:
                self.log.exception("%s failed; retrying next round", self.name)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
