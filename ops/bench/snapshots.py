"""Workload: loading an account with many events, with and without a snapshot."""

from __future__ import annotations

import statistics
import time
from uuid import UUID

from commands.application import Ledger, event_store_env
from ops.bench.measure import Steps
from ops.bench.results import Line, Target, WorkloadResult
from ops.bench.seed import Household
from ops.bench.sizes import Sizes

INTERVAL = 100  # a snapshot every 100 events (FISCAFLOW_SNAPSHOT_INTERVAL's default)


def median_load_ms(app: Ledger, account: UUID, loads: int) -> float:
    app.repository.get(account)  # warm: imports, connections, the first decode
    samples = []
    for _ in range(loads):
        began = time.perf_counter()
        app.repository.get(account)
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def run(conninfo: str, sizes: Sizes, steps: Steps, env: dict[str, int]) -> WorkloadResult:
    result = WorkloadResult("snapshots", "Loading an account with and without snapshots")
    household = Household(conninfo)
    (account,) = household.open(1)
    with steps.step("snapshots: record the account's events", sizes.account_events) as advance:
        household.record([account], sizes.account_events, advance=advance)
    household.close()
    plain = Ledger(event_store_env(conninfo, pool_size=1))
    snapshotting = Ledger(event_store_env(conninfo, pool_size=1, snapshot_interval=INTERVAL))
    try:
        version: int = plain.repository.get(account).version
        at = version - version % INTERVAL  # where automatic snapshotting would have taken the last one
        snapshotting.take_snapshot(account, version=at)
        with steps.step("snapshots: load the account"):
            without = median_load_ms(plain, account, sizes.loads)
            with_snapshot = median_load_ms(snapshotting, account, sizes.loads)
    finally:
        plain.close()
        snapshotting.close()
    result.lines = [
        Line("load with a snapshot", with_snapshot, "ms", "without", without, Target("<=", 20)),
    ]
    result.details = {"account_version": version, "snapshot_version": at, "loads": sizes.loads}
    result.notes.append(
        f"an account at version {version:,}: median of {sizes.loads} loads (no aggregate cache); the "
        f"snapshot is at version {at:,}, and the {version - at} event(s) after it are replayed."
    )
    return result
