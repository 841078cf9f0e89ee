"""Workload: the event store's commit ceiling. Concurrent writers in one process each append
one event at a time to an aggregate of their own, through the application's recorder (the
events table's lock, the hash-chain trigger, the commit's flush), with group commit and,
as the baseline, with one commit per append. No command logic runs: this is what the
write path can take, whatever the API costs in front of it."""

from __future__ import annotations

import threading
import time
import uuid

from eventsourcing.persistence import StoredEvent

from commands.application import Ledger, event_store_env
from commands.group_commit import GroupCommit
from commands.recorder import LedgerRecorder
from ops.bench.measure import Steps
from ops.bench.results import Line, WorkloadResult
from ops.bench.sizes import Sizes

TOPIC = "ops.bench.commits:Probe"  # on the scratch database only; nothing reads it
ROUNDS = 2  # alone, grouped, alone, grouped: a slower moment of the machine hits both


def appends_per_second(recorder: LedgerRecorder, writers: int, seconds: float) -> float:
    """Each writer appends version after version of its own aggregate for ``seconds``."""
    stop = time.monotonic() + seconds
    counts = [0] * writers

    def write(n: int) -> None:
        originator, version = uuid.uuid4(), 0
        while time.monotonic() < stop:
            version += 1
            recorder.insert_events([StoredEvent(originator, version, TOPIC, b"{}")])
            counts[n] += 1

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def run(conninfo: str, sizes: Sizes, steps: Steps, env: dict[str, int]) -> WorkloadResult:
    writers = sizes.clients
    result = WorkloadResult("commits", f"Commit ceiling of the event store, {writers} concurrent writers")
    ledger = Ledger(event_store_env(conninfo, pool_size=writers))
    recorder = ledger.recorder
    assert isinstance(recorder, LedgerRecorder)
    alone: list[float] = []
    grouped: list[float] = []
    groups = requests = 0
    seconds = sizes.seconds / 2
    try:
        with steps.step(f"commits: {writers} writers, alone and grouped", 2 * ROUNDS) as advance:
            for _ in range(ROUNDS):
                recorder.grouping = None
                alone.append(appends_per_second(recorder, writers, seconds))
                advance(1)
                recorder.grouping = GroupCommit(recorder.store_group)
                grouped.append(appends_per_second(recorder, writers, seconds))
                groups, requests = groups + recorder.grouping.groups, requests + recorder.grouping.requests
                advance(1)
    finally:
        ledger.close()
    alone_rate, grouped_rate = sum(alone) / ROUNDS, sum(grouped) / ROUNDS
    mean_group = requests / groups if groups else 0.0
    result.lines = [
        Line("one-event appends, group commit", grouped_rate, "appends/s", "one commit each", alone_rate),
        Line("appends per group commit", mean_group, "appends"),
    ]
    result.details = {
        "writers": writers,
        "seconds_per_run": seconds,
        "alone_per_round": [round(r) for r in alone],
        "grouped_per_round": [round(r) for r in grouped],
        "mean_group": round(mean_group, 2),
    }
    result.notes.append(
        f"{writers} threads of this process append one event each to their own aggregate, {seconds:g} s "
        f"per run, {ROUNDS} rounds of one commit per append then group commit (commands/group_commit.py). "
        "Through the application's recorder and the real events table (its lock, the hash-chain "
        "trigger, the commit's flush), without command logic: the store's ceiling, not the API's."
    )
    return result
