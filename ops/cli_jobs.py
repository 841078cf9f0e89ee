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
    from commands.schedules import ScheduleCommands
    from commands.transactions import TransactionCommands
    from ops.cli import console, load_settings, write_side

    try:
        day = dt.date.fromisoformat(today) if today else dt.datetime.now(dt.UTC).date()
    except ValueError:
        console.print(f"[red]--today is a date such as 2026-11-30, not {today!r}[/red]")
        raise typer.Exit(2) from None
    with write_side(load_settings(), "schedules", "transactions") as (ledger, reads):
        counts = ScheduleCommands(ledger, TransactionCommands(ledger), reads).run(day)
    console.print(", ".join(f"{n} {outcome}" for outcome, n in counts.items()))


@notifications_app.command("send")
def send_notifications() -> None:
    """Send the email and webhook notifications that are due, once each (one round).
    `fiscaflow serve` does this every FISCAFLOW_DELIVERY_INTERVAL seconds."""
    from psycopg_pool import ConnectionPool

    from commands.deliveries import Sender
    from ops.cli import console, database, load_settings
    from projections.rebuild import prepare
    from projections.registry import PROJECTIONS

    settings = load_settings()
    with database(settings) as conninfo, ConnectionPool(conninfo, min_size=1, max_size=1) as pool:
        prepare(PROJECTIONS["notifications"], conninfo)  # its schema holds the deliveries
        handled = Sender(settings, pool).round()
    console.print(f"handled {handled} deliveries")


relay_app = typer.Typer(help="Integration events on RabbitMQ.", no_args_is_help=True)


@relay_app.command("run")
def run_relay(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Events per confirmed batch.")] = 500,
) -> None:
    """Publish every stored event, in order, to the topic exchange `fiscaflow.events` of
    RABBITMQ_URL until SIGTERM or Ctrl-C. Its position is recorded only after the broker
    confirms a batch: a crash publishes that batch again (consumers dedupe by event id).
    One relay is active at a time; another one waits."""
    import logging
    import signal
    import threading

    from ops.cli import console, database, load_settings
    from ops.logs import configure_logging
    from ops.telemetry import configure
    from projections.relay.publisher import Relay

    settings = load_settings()
    if not settings.rabbitmq_url:
        console.print("[red]RABBITMQ_URL is not set[/red] (e.g. amqp://guest:guest@localhost:5672//)")
        raise typer.Exit(2)
    configure_logging(settings.mode, settings.log_level)
    telemetry = configure("fiscaflow-relay")
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    with database(settings) as conninfo:
        logging.getLogger("fiscaflow.relay").info("relaying events to RabbitMQ; Ctrl-C to stop")
        Relay(conninfo, settings.rabbitmq_url, batch_size).run_until(stopping)
    if telemetry is not None:
        telemetry.shutdown()


search_app = typer.Typer(help="Transaction search on Elasticsearch.", no_args_is_help=True)


@search_app.command("reindex")
def reindex_search() -> None:
    """Build a fresh Elasticsearch index of every transaction from the read model and swap
    the alias `fiscaflow-transactions` to it in one step (searches keep answering from the
    old index meanwhile), with a progress bar. Needs ELASTICSEARCH_URL."""
    from elasticsearch import Elasticsearch
    from rich.progress import Progress

    from ops.cli import console, database, load_settings
    from projections.search_index import SearchIndexer

    settings = load_settings()
    if not settings.elasticsearch_url:
        console.print("[red]ELASTICSEARCH_URL is not set[/red]: search runs on PostgreSQL, nothing to index")
        raise typer.Exit(2)
    with database(settings) as conninfo, Progress(console=console) as bar:
        import psycopg

        with psycopg.connect(conninfo) as conn:
            total = conn.execute("SELECT count(*) FROM read_transactions.transactions").fetchone()
        task = bar.add_task("indexing", total=total[0] if total else None)
        indexer = SearchIndexer(conninfo, Elasticsearch(settings.elasticsearch_url, request_timeout=30))
        count = indexer.reindex(progress=lambda n: bar.advance(task, n))
    console.print(f"indexed {count} transactions")


audit_app = typer.Typer(help="The tamper-evident event log.", no_args_is_help=True)


@audit_app.command("verify")
def verify_log() -> None:
    """Recompute every event's hash, walk every aggregate's chain and compare every
    checkpoint with the rows (progress bar); name the first modified, deleted, inserted or
    reordered event. Exit code 0 when the log is intact, 1 when it is not."""
    import psycopg
    from rich.progress import Progress

    from commands.audit import EVENTS, verify
    from ops.cli import console, database, load_settings

    settings = load_settings()
    with database(settings) as conninfo, Progress(console=console) as bar:
        with psycopg.connect(conninfo) as conn:
            total = conn.execute(f"SELECT count(*) FROM {EVENTS}").fetchone()  # noqa: S608
        task = bar.add_task("verifying", total=total[0] if total else None)
        report = verify(conninfo, lambda n: bar.advance(task, n))
    console.print(f"{report.events} events, {report.checkpoints} checkpoints")
    for finding in report.findings:
        console.print(
            f"[red]{finding.kind}[/red] at position {finding.position} (aggregate {finding.aggregate_id}"
            f" version {finding.version}): {finding.detail}"
        )
    if not report.ok:
        raise typer.Exit(1)
    console.print("[green]the event log is intact[/green]")


@audit_app.command("checkpoint")
def checkpoint_log() -> None:
    """Record the order and hashes of the events since the last checkpoint (`fiscaflow
    serve` does this every 5 seconds)."""
    from commands.audit import checkpoint
    from ops.cli import console, database, load_settings

    with database(load_settings()) as conninfo:
        console.print(f"checkpointed {checkpoint(conninfo)} events")
