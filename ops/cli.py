"""The ``fiscaflow`` command line: serve, run projectors, rebuild read models, read the event log."""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional
from uuid import UUID

import typer
from rich.console import Console

from ops import cli_audit, cli_replay
from ops.bench.command import bench
from ops.cli_jobs import audit_app, notifications_app, relay_app, schedules_app, search_app
from ops.settings import Settings, SettingsError

app = typer.Typer(
    help="FiscaFlow: an event-sourced household ledger. With no DATABASE_URL, every command "
    "uses the embedded PostgreSQL in $FISCAFLOW_HOME.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold database passwords
)
console = Console(stderr=True)
OPERATOR = UUID("00000000-0000-5000-8000-000000000000")  # the actor of CLI operator actions


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        console.print(f"[red]configuration error:[/red] {error}")
        raise typer.Exit(2) from None


def check_reachable(conninfo: str) -> None:
    """Fail early, with a clear message and no password, when the database does not answer."""
    import psycopg

    try:
        psycopg.connect(conninfo, connect_timeout=5).close()
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        console.print(f"[red]cannot reach the database in DATABASE_URL:[/red] {reason}")
        raise typer.Exit(2) from None


def with_development_secret(settings: Settings) -> Settings:
    """Development without FISCAFLOW_JWT_SECRET: a random key, kept in $FISCAFLOW_HOME for
    the embedded default (tokens survive a restart), else for this process only."""
    if settings.jwt_secret is not None:
        return settings
    import secrets

    if settings.database_url:
        console.print("[yellow]development: random JWT secret for this process only[/yellow]")
        return settings.with_secret(secrets.token_urlsafe(48))
    path = settings.home / "jwt-secret"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return settings.with_secret(path.read_text().strip())


def command_path(argv: list[str]) -> str:
    """The command being run, e.g. ``fiscaflow users set-role``: only the words that name
    commands, never their arguments (which may be personal data)."""
    command: Any = typer.main.get_command(app)
    path = ["fiscaflow"]
    for word in argv:
        command = getattr(command, "commands", {}).get(word)
        if command is None:
            break
        path.append(word)
    return " ".join(path)


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The conninfo of the configured database, starting the embedded one if needed. Events
    the command appends record it (``cli:fiscaflow users set-role``) as who and why."""
    from commands.audit_context import as_job

    as_job(f"cli:{command_path(sys.argv[1:])}")
    if settings.database_url:
        check_reachable(settings.database_url)
        yield settings.database_url
        return
    from ops.embedded import EmbeddedPostgres

    started = time.perf_counter()
    embedded = EmbeddedPostgres(settings.home)
    conninfo = embedded.start()
    console.print(f"embedded PostgreSQL ready in {time.perf_counter() - started:.1f}s ({settings.home})")
    try:
        yield conninfo
    finally:
        embedded.stop()


@contextmanager
def write_side(settings: Settings, *read_models: str) -> Iterator[tuple[Any, Any]]:
    """The ledger application and the read store of the configured database, for one job
    (the read models it reads are created if this database has none yet)."""
    from commands.application import Ledger, event_store_env
    from projections.rebuild import prepare
    from projections.registry import PROJECTIONS
    from queries.db import ReadStore

    with database(settings) as conninfo:
        for name in read_models:
            prepare(PROJECTIONS[name], conninfo)
        ledger = Ledger(event_store_env(conninfo, pool_size=1))
        reads = ReadStore(conninfo, 1)
        reads.open()
        try:
            yield ledger, reads
        finally:
            reads.close()
            ledger.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes on the port (one process uses about one core). Above 1 needs "
            "REDIS_URL; projectors and periodic work then run once, in the supervising process.",
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (and, unless FISCAFLOW_RUN_PROJECTORS=false, the projectors).

    Ctrl-C or SIGTERM finishes in-flight requests, stops the projectors after their
    current event and stops the embedded PostgreSQL."""
    import structlog
    import uvicorn

    from api.app import create_app
    from ops.logs import configure_logging
    from ops.serving import NeedsRedisError, check_processes, serve_processes, served
    from ops.telemetry import configure

    settings = with_development_secret(load_settings())
    try:
        check_processes(settings, processes)
    except NeedsRedisError as error:
        console.print(f"[red]configuration error:[/red] {error}")
        raise typer.Exit(2) from None
    configure_logging(settings.mode, settings.log_level)
    telemetry = configure("fiscaflow-api")  # before any connection: psycopg is traced
    with database(settings) as conninfo:
        # The server is no job: its requests log their own correlation id and no command.
        structlog.contextvars.unbind_contextvars("command", "correlation_id")
        # uvicorn re-raises the signal that stopped it once it has drained; a handler of
        # our own turns that into a normal return, so the embedded PostgreSQL is stopped.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
        # Our own access log (api/requests.py) leaves out query strings; uvicorn's would not.
        # log_config=None: uvicorn's loggers go through ops/logs.py like every other one.
        status = 0
        if processes > 1:  # a supervisor of API processes (ops/serving.py)
            status = serve_processes(settings, conninfo, host, port, processes)
        else:
            application = served(create_app(settings, conninfo))
            level = settings.log_level.lower()
            uvicorn.run(application, host=host, port=port, log_level=level, access_log=False, log_config=None)
    if telemetry is not None:
        telemetry.shutdown()  # the last spans and metrics go out
    logging.getLogger("fiscaflow.serve").info("stopped")  # a log line: JSON in production
    if status:
        raise typer.Exit(status)


@app.command("project")
def project(
    action: Annotated[str, typer.Argument(help="Only `run` for now.")],
    names: Annotated[Optional[list[str]], typer.Argument(help="Projections to run (default: all).")] = None,  # noqa: UP045
) -> None:
    """`fiscaflow project run [NAME...]`: run projectors as a separate process until SIGTERM."""
    from ops.logs import configure_logging
    from ops.telemetry import configure
    from projections.registry import PROJECTIONS
    from projections.supervisor import Supervisor

    if action != "run":
        console.print(f"[red]unknown action {action!r}[/red]; use `fiscaflow project run [NAME...]`")
        raise typer.Exit(2)
    chosen = names or list(PROJECTIONS)
    unknown = [n for n in chosen if n not in PROJECTIONS]
    if unknown:
        console.print(f"[red]unknown projection(s) {unknown}[/red]; known: {sorted(PROJECTIONS)}")
        raise typer.Exit(2)
    settings = load_settings()
    configure_logging(settings.mode, settings.log_level)
    telemetry = configure("fiscaflow-projectors")
    with database(settings) as conninfo:
        supervisor = Supervisor(conninfo, chosen)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: supervisor.stopping.set())
        supervisor.start()
        logging.getLogger("fiscaflow.projections").info("projecting %s; Ctrl-C to stop", ", ".join(chosen))
        supervisor.wait()
        supervisor.stop()  # each projector finishes the batch it is in, then stops
    if telemetry is not None:
        telemetry.shutdown()


@app.command()
def rebuild(name: Annotated[str, typer.Argument(help="The projection to rebuild, e.g. accounts.")]) -> None:
    """Rebuild a read model from position 0 into fresh tables and swap it in.

    The old read model keeps serving until the swap, which happens in one transaction."""
    from rich.progress import Progress

    from projections.rebuild import rebuild as run_rebuild
    from projections.registry import PROJECTIONS

    if name not in PROJECTIONS:
        console.print(f"[red]unknown projection {name!r}[/red]; known: {sorted(PROJECTIONS)}")
        raise typer.Exit(2)
    settings = load_settings()
    with database(settings) as conninfo, Progress(console=console) as progress:
        task = progress.add_task(f"rebuilding {name}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        count = run_rebuild(PROJECTIONS[name], conninfo, advance)
    console.print(f"rebuilt {name} from {count} events")


@app.command()
def events(
    aggregate: Annotated[Optional[UUID], typer.Option(help="Only this aggregate's events.")] = None,  # noqa: UP045
    since: Annotated[int, typer.Option(help="Only events after this position.")] = 0,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new events.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Print the event log in order: position, time, type, aggregate and data."""
    from ops.event_log import read_events

    settings = load_settings()
    out = Console()
    with database(settings) as conninfo:
        try:
            for position, described in read_events(conninfo, since, aggregate, follow):
                if as_json:
                    sys.stdout.write(json.dumps({"position": position, **described}) + "\n")
                    sys.stdout.flush()
                else:
                    out.print(
                        f"[bold]{position:>8}[/bold] {described['timestamp'][:19]} "
                        f"[cyan]{described['type']:<28}[/cyan] {described['aggregate_id']} "
                        f"v{described['version']} {json.dumps(described['data'])}",
                        highlight=False,
                        soft_wrap=True,
                    )
        except KeyboardInterrupt:
            pass


users_app = typer.Typer(
    help="Operator actions on users (run on the server's database).", no_args_is_help=True
)
app.add_typer(users_app, name="users")


@users_app.command("set-role")
def set_role(
    email: Annotated[str, typer.Argument(help="The user's email address.")],
    role: Annotated[str, typer.Argument(help="user, premium, admin or auditor.")],
) -> None:
    """Give a user a global role, e.g. make the first admin. Recorded as a RoleChanged event
    by the operator."""
    from eventsourcing.application import AggregateNotFoundError

    from commands.application import Ledger, event_store_env
    from commands.write_path import append
    from ledger.errors import DomainError
    from ledger.user import EmailClaim, User, normalise_email

    settings = load_settings()
    with database(settings) as conninfo:
        ledger = Ledger(event_store_env(conninfo, pool_size=1))
        try:
            claim = ledger.repository.get(EmailClaim.create_id(normalise_email(email)))
            user = ledger.repository.get(claim.user_id) if claim.user_id else None
            if not isinstance(user, User):
                raise DomainError(f"no user with the email {email}")
            user.change_role(role, OPERATOR)
            append(ledger, user)
        except AggregateNotFoundError:
            console.print(f"[red]no user with the email {email}[/red]")
            raise typer.Exit(2) from None
        except DomainError as error:
            console.print(f"[red]{error.detail}[/red]")
            raise typer.Exit(2) from None
        finally:
            ledger.close()
    console.print(f"{email} is now {role}")


holds_app = typer.Typer(help="Pending transactions' holds.", no_args_is_help=True)
app.add_typer(holds_app, name="holds")
app.add_typer(schedules_app, name="schedules")
app.add_typer(notifications_app, name="notifications")
app.add_typer(relay_app, name="relay")
app.add_typer(search_app, name="search")
app.add_typer(audit_app, name="audit")
audit_app.command("export")(cli_audit.export_bundle)
audit_app.command("verify-export")(cli_audit.verify_export)
audit_app.command("keygen")(cli_audit.keygen)
app.command("replay")(cli_replay.replay)
app.command("bench")(bench)


@holds_app.command("expire")
def expire(
    at: Annotated[Optional[str], typer.Option(help="Expire as of this ISO time (default: now).")] = None,  # noqa: UP045
) -> None:
    """Release every hold that ran out: each such pending transaction becomes Expired and its
    amount returns to the balance. `fiscaflow serve` also does this every minute."""
    import datetime as dt

    from commands.holds import expire_holds
    from commands.transactions import TransactionCommands

    now = dt.datetime.fromisoformat(at) if at else dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        console.print("[red]--at needs a time zone, e.g. 2026-11-30T12:00:00+00:00[/red]")
        raise typer.Exit(2)
    with write_side(load_settings(), "transactions") as (ledger, reads):
        count = expire_holds(TransactionCommands(ledger), reads, now)
    console.print(f"expired {count} holds")


@app.command("import")
def import_file(
    path: Annotated[
        Path, typer.Argument(help="The statement file (CSV or OFX).", exists=True, dir_okay=False)
    ],
    household: Annotated[UUID, typer.Option(help="The household that owns the account.")],
    account: Annotated[UUID, typer.Option(help="The account to import into.")],
    file_format: Annotated[str, typer.Option("--format", help="csv or ofx (default: from the file).")] = "",
    date_column: Annotated[str, typer.Option(help="CSV column of the date.")] = "date",
    amount_column: Annotated[str, typer.Option(help="CSV column of the signed amount.")] = "amount",
    description_column: Annotated[str, typer.Option(help="CSV column of the description.")] = "description",
    merchant_column: Annotated[str, typer.Option(help="CSV column of the payee, if any.")] = "",
    id_column: Annotated[str, typer.Option(help="CSV column of the bank's id, if any.")] = "",
    date_format: Annotated[str, typer.Option(help="strptime format of the dates.")] = "%Y-%m-%d",
    decimal: Annotated[str, typer.Option(help="Decimal separator: . or ,")] = ".",
    thousands: Annotated[str, typer.Option(help="Thousands separator, if any.")] = "",
    sign: Annotated[str, typer.Option(help="signed, inverted (positive is money out).")] = "signed",
) -> None:
    """Import a bank statement into an account as the system (the same import as
    POST /api/v1/transactions/import, with a progress bar): re-importing adds nothing, a
    malformed file changes nothing, rejected lines are listed with their line numbers."""
    import hashlib
    import uuid as uuid_module

    from rich.progress import Progress

    from commands.application import Ledger, event_store_env
    from commands.imports import Imports
    from commands.statement_files import CsvOptions, detect_format, read_statement
    from ledger.errors import DomainError
    from queries.db import ReadStore

    digest = hashlib.sha256()
    with path.open("rb") as stream:  # the file is read in chunks: it may be large
        head = stream.read(4096)
        digest.update(head)
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    fmt = file_format or detect_format(head)
    try:
        options = CsvOptions(
            date_column=date_column, amount_column=amount_column, description_column=description_column,
            merchant_column=merchant_column or None, id_column=id_column or None, date_format=date_format,
            decimal=decimal, thousands=thousands, sign=sign,  # type: ignore[arg-type]
        ).check()  # fmt: skip
    except DomainError as error:
        console.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(2) from None
    source: dict[str, object] = {"format": fmt, "file_name": path.name, "sha256": digest.hexdigest()}

    def rows():  # type: ignore[no-untyped-def]
        with path.open("rb") as stream:
            yield from read_statement(stream, fmt, options, source)

    settings = load_settings()
    with database(settings) as conninfo:
        from projections.rebuild import prepare
        from projections.registry import PROJECTIONS

        prepare(PROJECTIONS["transactions"], conninfo)  # the import reads it for matches
        ledger = Ledger(event_store_env(conninfo, pool_size=1))
        reads = ReadStore(conninfo, 1)
        reads.open()
        try:
            with Progress(console=console) as progress:
                task = progress.add_task(f"importing {path.name}", total=None)
                report = Imports(ledger, reads).run(
                    household, account, rows, source, None, uuid_module.uuid4(),
                    progress=lambda done: progress.update(task, completed=done),
                )  # fmt: skip
        except DomainError as error:
            console.print(f"[red]{error.detail}[/red]")
            raise typer.Exit(2) from None
        finally:
            reads.close()
            ledger.close()
    console.print(
        f"{report.lines} lines: {report.added} added, {report.duplicates} duplicates, "
        f"{report.transfers} transfers matched, {report.rejected_count} rejected"
    )
    for rejected in report.rejected[:50]:
        console.print(f"  line {rejected.line}: {rejected.reason}", highlight=False)
    if report.batch_id:
        console.print(f"import batch {report.batch_id}")


categoriser_app = typer.Typer(help="The learned categoriser.", no_args_is_help=True)
app.add_typer(categoriser_app, name="categoriser")


@categoriser_app.command("evaluate")
def evaluate_categoriser(
    seed: Annotated[int, typer.Option(help="Seed of the generated year of transactions.")] = 7,
    threshold: Annotated[float, typer.Option(help="Confidence needed to set a category.")] = 0.7,
) -> None:
    """Measure the categoriser on a generated year of a household's transactions: train on
    the first 80 % by date, test on the last 20 %."""
    from ledger.categoriser import Example, evaluate
    from ops.sample_data import household_year

    year = household_year(seed)
    examples = [Example(t.description, t.merchant, t.kind, t.amount, t.category) for t in year]
    cut = int(len(examples) * 0.8)
    result = evaluate(examples[:cut], examples[cut:], threshold)
    console.print(
        f"trained on {result.trained_on}, tested on {result.tested_on}: "
        f"accuracy {result.accuracy:.1%}; at confidence >= {threshold}: "
        f"coverage {result.coverage:.1%}, precision {result.precision_at_threshold:.1%}"
    )


def main() -> None:
    app()
