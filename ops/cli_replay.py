"""`fiscaflow replay`: replay the event log into fresh schemas and compare them with the live
read models (registered in ops/cli.py; the work is done by ops/replay.py)."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any, Optional

import typer


def replay(
    to: Annotated[
        Optional[int],  # noqa: UP045 - typer reads Optional
        typer.Option(
            "--to",
            min=1,
            metavar="POS",
            help="Replay up to this notification position (default: each live model's own position).",
        ),
    ] = None,
    projections: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--projection", "-p", help="Only this projection (repeatable; default: all)."),
    ] = None,
) -> None:
    """Replay the event log into a fresh schema for each projection and compare it, table by
    table and row by row, with the live read model; report the rows missing from the live
    model, extra in it, or different (column by column).

    A comparison is only meaningful at the live model's own position. Without --to each
    projection is replayed up to wherever its live model is (its projector waits while the
    comparison runs). With --to POS the live model must be at POS, or past it only by
    events it does not handle; a live model behind POS (its projector has not caught up) or
    ahead of it by events it handles is not compared, and the reason is printed.

    The replay writes nothing that lasts: it runs in a transaction that is rolled back.
    Tracking and outbox tables are not compared. Exit code 0 when every compared model
    equals its replay, 1 when any differs, 2 when a model could not be compared or the
    input is wrong."""
    from rich.progress import Progress

    from ops.cli import console, database, load_settings
    from ops.replay import log_end
    from ops.replay import replay as run_replay
    from projections.registry import PROJECTIONS

    chosen = projections or list(PROJECTIONS)
    unknown = [n for n in chosen if n not in PROJECTIONS]
    if unknown:
        console.print(f"[red]unknown projection(s) {unknown}[/red]; known: {sorted(PROJECTIONS)}")
        raise typer.Exit(2)
    with database(load_settings()) as conninfo:
        end = log_end(conninfo)
        if to is not None and to > end:
            console.print(f"[red]--to {to} is past the end of the event log (position {end})[/red]")
            raise typer.Exit(2)
        outcomes = []
        with Progress(console=console) as bar:
            for name in chosen:
                task = bar.add_task(f"replaying {name}", total=to or end)
                outcomes.append(run_replay(PROJECTIONS[name], conninfo, to, partial(bar.advance, task)))
    for outcome in outcomes:
        show(outcome)
    if any(o.differs for o in outcomes):
        raise typer.Exit(1)
    if any(o.refused for o in outcomes):
        raise typer.Exit(2)


def row_text(row: Any) -> str:
    return json.dumps(row, default=str, sort_keys=True)


def show(outcome: Any) -> None:
    """One projection's outcome: why it was not compared, or each table's differences."""
    from ops.cli import console
    from ops.replay import SHOWN

    name = outcome.projection
    if outcome.refused:
        console.print(f"[yellow]{name}: not compared[/yellow]: {outcome.refused}")
        return
    if not outcome.differs:
        console.print(f"[green]{name}: no differences[/green] at position {outcome.position}")
        return
    for table in outcome.tables:
        if table.empty:
            continue
        counts = f"{len(table.missing)} missing, {len(table.extra)} extra, {len(table.different)} different"
        console.print(
            f"[red]{name}.{table.table}[/red] at position {outcome.position}: {counts}", highlight=False
        )
        for label, rows in (("missing", table.missing), ("extra", table.extra)):
            for row in rows[:SHOWN]:
                console.print(f"  {label}: {row_text(row)}", highlight=False, soft_wrap=True)
        for change in table.different[:SHOWN]:
            columns = ", ".join(
                f"{c}: live {row_text(v[0])}, replayed {row_text(v[1])}" for c, v in change["columns"].items()
            )
            console.print(
                f"  different {row_text(change['key'])}: {columns}", highlight=False, soft_wrap=True
            )
