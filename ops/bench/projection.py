"""Workload: projection catch-up (events/s against reading the same events without
applying them) and the lag of a projector process following a sustained writer."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from typing import Any

import psycopg

from ops.bench.clone import generate
from ops.bench.measure import Steps, percentile
from ops.bench.results import Line, Target, WorkloadResult
from ops.bench.scratch import Child
from ops.bench.seed import Household
from ops.bench.sizes import Sizes
from projections.base import EVENTS_TABLE, NOTIFICATION_AND_METADATA_COLUMNS

FOLLOWED = ("accounts", "transactions")
BATCH = 500  # the runner's batch size


def scan(conninfo: str) -> tuple[int, float]:
    """Read every event in the runner's batches, apply nothing: events and events/s."""
    read, position = 0, 0
    began = time.perf_counter()
    with psycopg.connect(conninfo) as conn:
        while rows := conn.execute(
            f"SELECT {NOTIFICATION_AND_METADATA_COLUMNS} FROM {EVENTS_TABLE}"  # noqa: S608 - constants
            " WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
            (position, BATCH),
        ).fetchall():
            read, position = read + len(rows), rows[-1][0]
    return read, read / (time.perf_counter() - began)


def catch_up(conninfo: str, name: str, steps: Steps, total: int) -> float:
    from projections.registry import PROJECTIONS
    from projections.runner import ProjectionRunner

    runner = ProjectionRunner(PROJECTIONS[name], conninfo)
    try:
        with steps.step(f"projection: catch up {name}", total) as advance:
            began = time.perf_counter()
            count = runner.catch_up(progress=advance)
            return count / (time.perf_counter() - began)
    finally:
        runner.close()


def write_until(
    household: Household, accounts: list[Any], stopping: threading.Event, counts: list[int]
) -> None:
    """The sustained writer: appends of 10 transactions (about 20 events) back to back."""
    while not stopping.is_set():
        counts.append(sum(household.record(accounts, 10, 10)))


def sample_lag(conninfo: str, seconds: float) -> dict[str, list[tuple[int, float]]]:
    """Every 0.1 s, how far behind the head each followed read model is (events, seconds)."""
    from projections.registry import PROJECTIONS
    from queries.consistency import lag, positions
    from queries.db import ReadStore

    schemas = tuple(PROJECTIONS[name].default_schema() for name in FOLLOWED)
    samples: dict[str, list[tuple[int, float]]] = {name: [] for name in FOLLOWED}
    store = ReadStore(conninfo, 1)
    store.open()
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            tracked = positions(store, schemas)
            for name, schema in zip(FOLLOWED, schemas, strict=True):
                samples[name].append(lag(store, tracked[schema]))
            time.sleep(0.1)
    finally:
        store.close()
    return samples


def under_load(conninfo: str, sizes: Sizes, steps: Steps, env: dict[str, int]) -> dict[str, Any]:
    """A `fiscaflow project run` process follows while a writer thread appends."""
    projector = Child(conninfo, "project", "run", *FOLLOWED)
    household = Household(conninfo, **env)
    accounts = household.open(4)
    stopping, counts = threading.Event(), list[int]()
    writer = threading.Thread(target=write_until, args=(household, accounts, stopping, counts))
    try:
        time.sleep(1.0)  # the projector connects and finds itself caught up
        with steps.step(f"projection: lag under load for {sizes.seconds:g}s"):
            writer.start()
            began = time.perf_counter()
            samples = sample_lag(conninfo, sizes.seconds)
            stopping.set()
            writer.join()
            written = sum(counts) / (time.perf_counter() - began)
    finally:
        stopping.set()
        projector.stop()
        household.close()
    return {"writer_events_per_second": written, "samples": samples}


def lag_lines(samples: dict[str, list[tuple[int, float]]]) -> list[Line]:
    lines = []
    for name, taken in samples.items():
        events = [float(s[0]) for s in taken]
        ages = [s[1] for s in taken]
        lines += [
            Line(f"{name}: lag p95 under load", percentile(events, 0.95), "events"),
            Line(f"{name}: lag max under load", max(events, default=0.0), "events"),
            Line(f"{name}: lag p95 under load (age)", percentile(ages, 0.95) * 1000, "ms"),
            Line(f"{name}: lag max under load (age)", max(ages, default=0.0) * 1000, "ms"),
        ]
    return lines


def run(conninfo: str, sizes: Sizes, steps: Steps, env: dict[str, int]) -> WorkloadResult:
    result = WorkloadResult("projection", "Projection catch-up and lag under load")
    with steps.step("projection: generate events", sizes.catch_up_events) as advance:
        generated = generate(conninfo, sizes.catch_up_events, env, advance)
    events, scan_rate = scan(conninfo)
    for name in FOLLOWED:
        rate = catch_up(conninfo, name, steps, events)
        result.lines.append(
            Line(f"{name}: catch-up", rate, "events/s", "read only", scan_rate, Target(">=", 20_000))
        )
    loaded = under_load(conninfo, sizes, steps, env)
    result.lines += lag_lines(loaded["samples"])
    result.details = {
        "events": events,
        "generated": asdict(generated),
        "read_only_events_per_second": scan_rate,
        "writer_events_per_second": loaded["writer_events_per_second"],
        "lag_samples": {k: len(v) for k, v in loaded["samples"].items()},
    }
    result.notes.append(
        f"catch-up of {events:,} events from position 0 by a ProjectionRunner (batches of {BATCH}); the "
        "baseline reads the same batches without applying them. Lag: a `fiscaflow project run` process "
        f"follows a writer appending ~{loaded['writer_events_per_second']:,.0f} events/s"
        " (sampled every 0.1 s)."
    )
    return result
