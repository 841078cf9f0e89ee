"""Small measuring tools: percentiles, CPU shares of the processes in a run, progress."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psutil  # type: ignore[import-untyped]
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
