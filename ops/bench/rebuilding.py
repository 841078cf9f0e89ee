"""Workload: rebuilding a read model from a large event log (1,000,000 events by default)."""

from __future__ import annotations

import time
from dataclasses import asdict

from ops.bench.clone import generate
from ops.bench.measure import Steps
from ops.bench.projection import scan
from ops.bench.results import Line, Target, WorkloadResult
from ops.bench.sizes import Sizes

REBUILT = "transactions"  # the largest read model: a row per transaction, its postings, search
SECONDS_PER_MILLION = 90.0  # the target, scaled to the size asked for


def run(conninfo: str, sizes: Sizes, steps: Steps, env: dict[str, int]) -> WorkloadResult:
    from projections.rebuild import rebuild
    from projections.registry import PROJECTIONS

    result = WorkloadResult("rebuild", f"Rebuild of the {REBUILT} read model")
    with steps.step("rebuild: generate events", sizes.rebuild_events) as advance:
        began = time.perf_counter()
        generated = generate(conninfo, sizes.rebuild_events, env, advance)
        generation = time.perf_counter() - began
    events, scan_rate = scan(conninfo)
    with steps.step(f"rebuild: {REBUILT}", events) as advance:
        done = 0

        def progress(count: int, _total: int) -> None:
            nonlocal done
            advance(count - done)
            done = count

        began = time.perf_counter()
        rebuilt = rebuild(PROJECTIONS[REBUILT], conninfo, progress)
        seconds = time.perf_counter() - began
    budget = SECONDS_PER_MILLION * events / 1_000_000
    result.lines = [
        Line(f"rebuild {REBUILT}", rebuilt / seconds, "events/s", "read only", scan_rate),
        Line(f"rebuild {REBUILT}: time", seconds, "s", target=Target("<=", round(budget, 1))),
        Line("generate (template + COPY)", generated.events / generation, "events/s"),
    ]
    result.details = {
        "events": events,
        "rebuilt_events": rebuilt,
        "rebuild_seconds": seconds,
        "generation_seconds": generation,
        "generated": asdict(generated),
        "read_only_events_per_second": scan_rate,
    }
    result.notes.append(
        f"{events:,} events: a template household of {generated.template_events:,} events recorded through "
        f"the command handlers in {generated.template_seconds:.1f} s, then COPY of copies under fresh ids "
        f"with the append lock and the hash-chain trigger ({generated.copy_seconds:.1f} s). Target: "
        f"{SECONDS_PER_MILLION:g} s per million events."
    )
    return result
