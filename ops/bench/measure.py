"""Small measuring tools: percentiles, CPU shares of the processes in a run, progress."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psutil  # type: ignore[import-untyped]
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TimeElapsedColumn


def percentile(samples: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..1) of the samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else 0.0


def _busy(times: Any) -> float:
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _postgres_cpu() -> float:
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] == "postgres" and process.info["cpu_times"] is not None:
            total += process.info["cpu_times"].user + process.info["cpu_times"].system
    return total


@dataclass
class CpuShares:
    """CPU time used during a timed run, in cores (1.0 = one core busy all the time), of this
    process (the load generator), the server process, all PostgreSQL processes, and the
    whole machine."""

    server_pid: int | None = None
    include_children: bool = False  # the server's child processes too (several API processes)
    began: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        now = {
            "wall": time.perf_counter(),
            "client": time.process_time(),
            "postgres": _postgres_cpu(),
            "machine": _busy(psutil.cpu_times()),
        }
        if self.server_pid is not None:
            server = psutil.Process(self.server_pid)
            processes = [server, *(server.children(recursive=True) if self.include_children else [])]
            now["server"] = sum(sum(p.cpu_times()[:2]) for p in processes)
        return now

    def start(self) -> None:
        self.began = self._now()

    def stop(self) -> dict[str, float]:
        ended = self._now()
        wall = ended["wall"] - self.began["wall"]
        return {
            f"{name}_cores": round((ended[name] - self.began[name]) / wall, 2)
            for name in ended
            if name != "wall"
        }


BACKENDS = """
SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),
       -- WALSync before PostgreSQL 17, WalSync since; the LWLock WALWrite: waiting on a flush
       count(*) FILTER (WHERE lower(wait_event) IN ('walsync', 'walwrite', 'walinitsync')),
       count(*) FILTER (WHERE wait_event_type IS NULL)
FROM pg_stat_activity
WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
"""


@dataclass
class Backends:
    """What the database's backends are doing during a run, sampled every ``every`` seconds:
    on average how many wait for a lock (the events table's, for appends), flush WAL (a
    commit's fsync), or run. Appends hold the events table's lock through their commit, so
    lock + flush + run bound how many appends per second one lock can take."""

    conninfo: str
    every: float = 0.02
    samples: int = 0
    totals: list[int] = field(default_factory=lambda: [0, 0, 0])
    stopping: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def _sample(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not self.stopping.wait(self.every):
                row = conn.execute(BACKENDS).fetchone()
                if row is not None:
                    self.totals = [t + int(n) for t, n in zip(self.totals, row, strict=True)]
                    self.samples += 1

    def start(self) -> None:
        self.thread = threading.Thread(target=self._sample, name="bench-backends", daemon=True)
        self.thread.start()

    def stop(self) -> dict[str, float]:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        n = max(1, self.samples)
        locked, flushing, running = (round(t / n, 2) for t in self.totals)
        return {
            "samples": self.samples,
            "waiting_for_a_lock": locked,
            "flushing_wal": flushing,
            "running": running,
        }


class Steps:
    """A progress bar per long step, on the error stream (the table goes to the output)."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )

    def __enter__(self) -> Steps:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    @contextmanager
    def step(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        """A step; the caller advances it by the work done (or not at all: a spinner)."""
        task = self.progress.add_task(description, total=total)
        try:
            yield lambda done: self.progress.advance(task, done)
        finally:
            finished = self.progress.tasks[task].completed if total else 1
            self.progress.update(task, total=finished or 1, completed=finished or 1)
