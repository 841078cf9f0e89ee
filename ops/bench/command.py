"""The `fiscaflow bench` command: run the chosen workloads, each on a scratch database of its
own, print the table and write the JSON."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

NAMES = ("http", "append", "commits", "projection", "rebuild", "snapshots", "queries")
ROOT = Path(__file__).resolve().parents[2]
Workload = Callable[[str, Any, Any, dict[str, int]], Any]


def workloads() -> dict[str, Workload]:
    """The workloads by name, in the order they run (imported only when benching)."""
    from ops.bench import append, commits, http_load, projection, queries, rebuilding, snapshots

    table: dict[str, Workload] = {
        "http": http_load.run,
        "append": append.run,
        "commits": commits.run,
        "projection": projection.run,
        "rebuild": rebuilding.run,
        "snapshots": snapshots.run,
        "queries": queries.run,
    }
    return table


def server_version(conninfo: str) -> str:
    import psycopg

    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def run_one(
    name: str, workload: Workload, conninfo: str, sizes: Any, steps: Any, context: dict[str, Any]
) -> Any:
    """One workload on its own scratch database; a failure is reported, not raised."""
    from ops.bench.results import WorkloadResult
    from ops.bench.scratch import scratch_database

    began = time.perf_counter()
    try:
        with scratch_database(conninfo, name, context["created"]) as scratch:
            result = workload(scratch, sizes, steps, context["env"])
    except Exception as error:  # the other workloads still run; the exit status says it failed
        result = WorkloadResult(
            name, f"{name} (failed)", notes=[f"failed: {error!r}"], details={"error": repr(error)}
        )
        context["failed"].append(name)
    result.seconds = time.perf_counter() - began
    return result


def bench(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help=f"Run only this workload (repeatable): {', '.join(NAMES)}."),
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes, for a CI smoke test.")] = False,
    out: Annotated[Path, typer.Option(help="Where to write the results as JSON.")] = Path(
        "bench-results.json"
    ),
    clients: Annotated[int | None, typer.Option(help="Concurrent HTTP clients [32].")] = None,
    seconds: Annotated[
        float | None, typer.Option(help="Seconds of each timed HTTP run and of the lag run [10].")
    ] = None,
    append_transactions: Annotated[int | None, typer.Option(help="Transactions appended [20,000].")] = None,
    catch_up_events: Annotated[
        int | None, typer.Option(help="Events the projections catch up on [200,000].")
    ] = None,
    rebuild_events: Annotated[int | None, typer.Option(help="Events of the rebuild [1,000,000].")] = None,
    account_events: Annotated[
        int | None, typer.Option(help="Transactions on the loaded account [10,000].")
    ] = None,
    transactions: Annotated[
        int | None, typer.Option(help="Transactions of the queried household [100,000].")
    ] = None,
    requests: Annotated[int | None, typer.Option(help="Sequential requests per timed query [200].")] = None,
) -> None:
    """Measure FiscaFlow against baselines of the same run and write the numbers as JSON.

    Each workload runs on a scratch database created on the configured PostgreSQL (or the
    embedded one) and dropped afterwards; your data is never read or changed. Targets are
    reported, never enforced: the exit status is 1 only when a workload failed to run."""
    from ops.bench.sizes import Sizes

    chosen = list(dict.fromkeys(only or NAMES))
    unknown = [name for name in chosen if name not in NAMES]
    if unknown:
        raise typer.BadParameter(
            f"unknown workload(s) {unknown}; known: {', '.join(NAMES)}", param_hint="--only"
        )
    sizes = (Sizes.quick() if quick else Sizes()).overridden(
        clients=clients, seconds=seconds, append_transactions=append_transactions,
        catch_up_events=catch_up_events, rebuild_events=rebuild_events, account_events=account_events,
        transactions=transactions, requests=requests,
    )  # fmt: skip
    failed = measure(chosen, sizes, quick, out)
    if failed:
        raise typer.Exit(1)


def measure(chosen: list[str], sizes: Any, quick: bool, out: Path) -> list[str]:
    """Run the workloads, show and write the results; the names of those that failed."""
    from ops.bench.measure import Steps
    from ops.bench.results import git_commit, machine, show, write
    from ops.bench.scratch import existing
    from ops.cli import console, database, load_settings

    settings = load_settings()
    env = {"snapshot_interval": settings.snapshot_interval, "cache_size": settings.aggregate_cache}
    context: dict[str, Any] = {"created": [], "failed": [], "env": env}
    started, began = dt.datetime.now(dt.UTC), time.perf_counter()
    table = workloads()
    with database(settings) as conninfo:
        version = server_version(conninfo)
        with Steps(console) as steps:
            results = [run_one(name, table[name], conninfo, sizes, steps, context) for name in chosen]
        left = existing(conninfo, context["created"])
    header = {
        "format": 1,
        "started_at": started.isoformat(),
        "seconds": round(time.perf_counter() - began, 1),
        "quick": quick,
        "sizes": sizes.as_json(),
        "git": git_commit(ROOT),
        "machine": machine(version),
        "database": "DATABASE_URL" if settings.database_url else "embedded",
        "scratch_databases": context["created"],
        "scratch_databases_left": left,
        "failed": context["failed"],
    }
    show(results)
    write(out, header, results)
    console.print(f"results written to {out}")
    return list(context["failed"])
