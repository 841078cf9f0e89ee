"""Runs projectors as threads (inside ``fiscaflow serve`` or ``fiscaflow project run``).

A projector that fails stops at the failing event, reports it, and is restarted after
a pause; it never skips the event.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import structlog

from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner

log = logging.getLogger("fiscaflow.projections")
RESTART_PAUSE = 2.0


@dataclass
class ProjectorState:
    name: str
    error: str | None = None
    failures: int = 0
    running: bool = False


@dataclass
class Supervisor:
    """Starts one thread per projection and stops them after their current batch."""

    conninfo: str
    names: list[str]
    stopping: threading.Event = field(default_factory=threading.Event)
    states: dict[str, ProjectorState] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for name in self.names:
            self.states[name] = ProjectorState(name)
            thread = threading.Thread(target=self._run, args=(name,), name=f"projector-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def _run(self, name: str) -> None:
        state = self.states[name]
        while not self.stopping.is_set():
            try:
                runner = ProjectionRunner(PROJECTIONS[name], self.conninfo)
                try:
                    state.running, state.error = True, None
                    runner.run_until(self.stopping)
                finally:
                    state.running = False
                    runner.close()
            except Exception as error:  # crash loudly, then restart; never skip the event
                state.error, state.failures = str(error), state.failures + 1
                # the failed event's correlation id and command (ProjectionFailedError.correlation)
                correlation = getattr(error, "correlation", {})
                with structlog.contextvars.bound_contextvars(projection=name, **correlation):
                    log.exception("projector %s failed; restarting in %.0fs", name, RESTART_PAUSE)
                self.stopping.wait(RESTART_PAUSE)

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout)

    def wait(self) -> None:
        """Block until stopped (by ``stop`` from a signal handler)."""
        while not self.stopping.wait(0.5):
            pass
