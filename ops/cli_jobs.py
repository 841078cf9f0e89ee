"""CLI commands of the periodic jobs that ``fiscaflow serve`` also runs: schedules and
notification deliveries (for cron, or for a process of their own)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Optional

import typer

schedules_app = typer.Typer(help="Recurring transactions and bills.", no_args_is_help=True)
notifications_app = typer.Typer(help="Email and webhook notifications.", no_args_is_help=True)


@schedules_app.command("run")
def run_schedules(
    today: Annotated[Optional[str], typer.Option(help="Run as of this date (default: today, UTC).")] = None,  # noqa: UP045
) -> None:
    """Generate every due occurrence of recurring transactions (each once, also when run
    twice or concurrently), match bills' payments and flag missed bills. `fiscaflow serve`
    does this every FISCAFLOW_SCHEDULE_INTERVAL seconds."""
    from commands.application import Ledger, event_store_env
    from commands.schedules import ScheduleCommands
    from commands.transactions import TransactionCommands
    from ops.cli import console, database, load_settings
    from queries.db import ReadStore

    try:
        day = dt.date.fromisoformat(today) if today else dt.datetime.now(dt.UTC).date()
    except ValueError:
        console.print(f"[red]--today is a date such as 2026-11-30, not {today!r}[/red]")
        raise typer.Exit(2) from None
    settings = load_settings()
    with database(settings) as conninfo:
        ledger = Ledger(event_store_env(conninfo, pool_size=1))
        reads = ReadStore(conninfo, 1)
        reads.open()
        try:
            counts = ScheduleCommands(ledger, TransactionCommands(ledger), reads).run(day)
        finally:
            reads.close()
            ledger.close()
    console.print(", ".join(f"{n} {outcome}" for outcome, n in counts.items()))


@notifications_app.command("send")
def send_notifications() -> None:
    """Send the email and webhook notifications that are due, once each (one round).
    `fiscaflow serve` does this every FISCAFLOW_DELIVERY_INTERVAL seconds."""
    from psycopg_pool import ConnectionPool

    from commands.deliveries import Sender
    from ops.cli import console, database, load_settings

    settings = load_settings()
    with database(settings) as conninfo, ConnectionPool(conninfo, min_size=1, max_size=1) as pool:
        handled = Sender(settings, pool).round()
    console.print(f"handled {handled} deliveries")
