"""CLI commands for auditors: export a household's signed audit bundle, check one, and make
the Ed25519 key that signs them (registered on ``fiscaflow audit`` in ops/cli.py)."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Annotated, Optional
from uuid import UUID

import typer


def moment(value: str | None, option: str) -> dt.datetime | None:
    """An ISO time with a time zone from an option, or a clear refusal."""
    from ops.cli import console

    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        console.print(
            f"[red]{option} is a time with a time zone such as 2026-11-01T00:00:00Z, not {value!r}[/red]"
        )
        raise typer.Exit(2)
    return parsed


def configured_key() -> bytes | None:
    from commands.audit_bundle import key_bytes
    from ops.cli import load_settings

    key = load_settings().audit_signing_key
    return key_bytes(key, "signing key") if key else None


def export_bundle(
    household: Annotated[UUID, typer.Option(help="The household whose events go into the bundle.")],
    out: Annotated[
        Path, typer.Option(help="The bundle to write (JSON lines); its signature goes to OUT.sig.")
    ],
    recorded_from: Annotated[
        Optional[str],  # noqa: UP045 - typer reads Optional
        typer.Option("--from", help="Only events recorded at or after this time (ISO, with a time zone)."),
    ] = None,
    recorded_to: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--to", help="Only events recorded at or before this time (ISO, with a time zone)."),
    ] = None,
) -> None:
    """Write a household's audit bundle: a header line, then one line per event recorded
    from --from to --to (position, aggregate id and version, type, recorded time, who and
    why, the decoded data as the audit API shows it, the stored bytes its hash covers, its
    hash and its predecessor's hash), then a verification report (`audit verify` over the
    whole store, and the exported events' hashes and chains). OUT.sig is a detached Ed25519
    signature over the bundle's bytes with FISCAFLOW_AUDIT_SIGNING_KEY; check it with
    `fiscaflow audit verify-export OUT` or openssl. Exit code 0, or 1 when the store did not
    verify (the bundle is written and says so)."""
    from rich.progress import Progress

    from commands.audit_export import Scope, export, signature_path
    from ops.cli import console, database, load_settings

    start, end = moment(recorded_from, "--from"), moment(recorded_to, "--to")
    if start and end and start > end:
        console.print("[red]--from is after --to[/red]")
        raise typer.Exit(2)
    key = configured_key()
    if key is None:
        console.print("[red]FISCAFLOW_AUDIT_SIGNING_KEY is not set[/red]: `fiscaflow audit keygen` makes one")
        raise typer.Exit(2)
    if not out.parent.is_dir() or out.is_dir():
        console.print(f"[red]cannot write {out}[/red]: give a file in an existing folder")
        raise typer.Exit(2)
    with database(load_settings()) as conninfo, Progress(console=console) as bar:
        tasks = {phase: bar.add_task(phase, total=None) for phase in ("exporting", "verifying")}
        report = export(
            conninfo, Scope(household, start, end), out, key, dt.datetime.now(dt.UTC),
            lambda phase, n: bar.advance(tasks[phase], n),
        )  # fmt: skip
    console.print(f"wrote {report['events']} events to {out}, signature to {signature_path(out)}")
    if not report["ok"]:
        console.print("[red]the event log did not verify[/red]: see the bundle's verification line")
        raise typer.Exit(1)


def verify_export(
    bundle: Annotated[Path, typer.Argument(help="The bundle `fiscaflow audit export` wrote.")],
    signature: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="The detached signature (default: BUNDLE.sig)."),
    ] = None,
    public_key: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="The signer's Ed25519 public key in base64 (default: FISCAFLOW_AUDIT_SIGNING_KEY's)."
        ),
    ] = None,
) -> None:
    """Check an audit bundle without the database: the signature over its bytes, every
    event's hash recomputed from the stored bytes it carries, each aggregate's chain
    through the bundle, and the bundle's own verification report. Exit code 0 when all
    hold, 1 when any does not, 2 when the files or the key are missing or malformed."""
    from commands.audit_bundle import BundleKeyError, check_bundle, key_bytes
    from commands.audit_bundle import public_key as public_of
    from commands.audit_export import signature_path
    from ops.cli import console

    signature = signature or signature_path(bundle)
    for path in (bundle, signature):
        if not path.is_file():
            console.print(f"[red]no file {path}[/red]")
            raise typer.Exit(2)
    try:
        key = key_bytes(public_key, "public key") if public_key else configured_key()
    except BundleKeyError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    if key is None:
        console.print("[red]give --public-key[/red] (or set FISCAFLOW_AUDIT_SIGNING_KEY to the signer's key)")
        raise typer.Exit(2)
    key = key if public_key else public_of(key)
    check = check_bundle(bundle.read_bytes(), signature.read_bytes(), key)
    verdict = "[green]valid[/green]" if check.signature_ok else "[red]INVALID[/red]"
    console.print(f"signature: {verdict} (public key {base64.b64encode(key).decode()})")
    console.print(f"{check.events} events")
    for finding in check.findings:
        where = f" at position {finding['position']}" if "position" in finding else ""
        console.print(f"[red]{finding['kind']}[/red]{where}: {finding['detail']}")
    if not check.ok:
        raise typer.Exit(1)
    console.print("[green]the bundle is intact and signed by this key[/green]")


def keygen() -> None:
    """Make a new Ed25519 signing key for audit bundles: prints the line to put in the
    environment of the exporter (stdout), and the public key for verifiers (base64 for
    `verify-export --public-key`, PEM for openssl)."""
    import sys

    from commands.audit_bundle import new_signing_key, public_key, public_pem
    from ops.cli import console

    key = new_signing_key()
    sys.stdout.write(f"FISCAFLOW_AUDIT_SIGNING_KEY={base64.b64encode(key).decode()}\n")
    console.print(f"public key: {base64.b64encode(public_key(key)).decode()}")
    console.print(public_pem(public_key(key)), highlight=False)
