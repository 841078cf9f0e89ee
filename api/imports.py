"""Importing statement files (CSV, OFX) and undoing an import."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from typing import Annotated, Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter

from api.accounts import DEPENDENCIES, WRITE
from api.auth import principal
from api.consistency import TokenHeader, TokenQuery, read_after
from api.idempotency import KeyHeader
from api.responses import COMMAND_PROBLEMS, CONSISTENCY_HEADER, Accepted, accepted, command, query
from api.tenancy import Caller, household_caller
from commands.imports import ImportReport
from commands.statement_files import CsvOptions, MalformedFileError, Row, detect_format, read_statement
from commands.write_path import Appended
from queries import imports as q
from queries.db import TRANSACTIONS_SCHEMA
from queries.views import ImportView, RejectedLine

MAX_IMPORT_BYTES = 64 * 1024 * 1024
Column = Annotated[str | None, QueryParameter(required=False, min_length=1, max_length=100)]
FileNameQuery = Annotated[
    str | None, QueryParameter(required=False, max_length=255, pattern=r"^[^\x00-\x1f/\\]*$")
]


class ImportAnswer(msgspec.Struct, kw_only=True):
    """The import's report. ``batch_id`` is null when nothing was added (every line was a
    duplicate or rejected): then nothing changed."""

    batch_id: UUID | None
    lines: int
    added: int
    duplicates: int
    transfers: int  # lines that completed a transfer recorded in another account
    completed: int  # lines that posted a pending transaction (an authorisation) of this account
    rejected: list[RejectedLine]  # the first 1,000, with line numbers
    rejected_count: int
    consistency_token: int


def caller_without_key(request: Request[Any, Any, Any]) -> Caller:
    """The import reads its own body as a stream: the Idempotency-Key is handled by the
    import itself (the key names the batch), not by hashing a body held in memory."""
    return household_caller(request, None)


class ImportHandlers:
    @post(
        "/",
        operation_id="importTransactions",
        status_code=201,
        guards=WRITE,
        responses=COMMAND_PROBLEMS,
        request_max_body_size=MAX_IMPORT_BYTES,
    )
    async def import_file(
        self,
        request: Request[Any, Any, Any],
        c: NamedDependency[Caller],
        account_id: FromQuery[UUID],
        file_format: Annotated[
            Literal["csv", "ofx"] | None, QueryParameter(name="format", required=False)
        ] = None,
        file_name: FileNameQuery = None,
        date_column: Column = None,
        amount_column: Column = None,
        debit_column: Column = None,
        credit_column: Column = None,
        description_column: Column = None,
        merchant_column: Column = None,
        id_column: Column = None,
        date_format: Annotated[str, QueryParameter(required=False, max_length=20)] = "%Y-%m-%d",
        decimal: Annotated[Literal[".", ","], QueryParameter(required=False)] = ".",
        thousands: Annotated[Literal["", ",", ".", " ", "'"], QueryParameter(required=False)] = "",
        sign: Annotated[Literal["signed", "inverted", "split"], QueryParameter(required=False)] = "signed",
        delimiter: Annotated[Literal[",", ";", "\t", "|"] | None, QueryParameter(required=False)] = None,
        encoding: Annotated[Literal["utf-8", "latin-1", "cp1252"], QueryParameter(required=False)] = "utf-8",
        idempotency_key: KeyHeader = None,
    ) -> Response[ImportAnswer]:
        """Import a bank statement into an account: the body is the file itself (CSV or OFX,
        up to 64 MiB). CSV needs a header line; map its columns with the `*_column`
        parameters (defaults: date, amount, description), say how dates and amounts are
        written, and how signs work: `signed` (negative is money out), `inverted` (positive
        is money out, as on card statements) or `split` (debit and credit columns).

        A re-import adds nothing (dedupe by the bank's id, else by date, amount and
        description). Rules and the learned categoriser categorise new lines; a line that is
        the other side of an expense or income in another of your accounts becomes one
        transfer. Lines that cannot be read are reported with their line numbers; a file
        that cannot be read at all is refused (422) and nothing changes. Answers 201 with
        the report, or 200 when nothing was added."""
        spooled = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - closed below
        try:
            digest = hashlib.sha256()
            head = b""
            async for chunk in request.stream():
                digest.update(chunk)
                if len(head) < 4096:
                    head += chunk[: 4096 - len(head)]
                spooled.write(chunk)
            fmt = file_format or detect_format(head, request.headers.get("content-type", ""))
            options = CsvOptions(
                date_column=date_column or "date",
                amount_column=amount_column or ("amount" if sign != "split" else None),
                debit_column=debit_column,
                credit_column=credit_column,
                description_column=description_column or "description",
                merchant_column=merchant_column,
                id_column=id_column,
                date_format=date_format,
                decimal=decimal,
                thousands=thousands,
                sign=sign,
                delimiter=delimiter,
                encoding=encoding,
            ).check()

            def rows() -> Iterator[Row]:
                spooled.seek(0)
                return read_statement(spooled, fmt, options, source)  # type: ignore[arg-type]

            source: dict[str, Any] = {"format": fmt, "file_name": file_name, "sha256": digest.hexdigest()}
            if spooled.tell() == 0:
                raise MalformedFileError("the file is empty")
            me = principal(request)
            batch_id = (
                uuid5(NAMESPACE_URL, f"fiscaflow:import:{me.user_id}:{me.household_id}:{idempotency_key}")
                if idempotency_key
                else uuid4()
            )
            imports = c.services.imports

            def run() -> ImportReport:
                return imports.run(c.household, account_id, rows, source, c.user_id, batch_id)

            report = await anyio.to_thread.run_sync(run)
        finally:
            spooled.close()
        body = ImportAnswer(
            batch_id=report.batch_id,
            lines=report.lines,
            added=report.added,
            duplicates=report.duplicates,
            transfers=report.transfers,
            completed=report.completed,
            rejected=[RejectedLine(line=r.line, reason=r.reason) for r in report.rejected],
            rejected_count=report.rejected_count,
            consistency_token=report.position,
        )
        status = 201 if report.batch_id is not None else 200
        headers = {CONSISTENCY_HEADER: str(report.position)}
        if report.batch_id is not None:
            headers["Location"] = f"/api/v1/imports/{report.batch_id}"
        return Response(body, status_code=status, headers=headers)


class ImportController(ImportHandlers, Controller):
    path = "/api/v1/transactions/import"
    tags = ["imports"]
    dependencies = {"c": Provide(caller_without_key, sync_to_thread=False)}


class ImportBatchHandlers:
    @command(post, "/{batch_id:uuid}/undo", "undoImport", guards=WRITE)
    def undo(
        self,
        batch_id: FromPath[UUID],
        c: NamedDependency[Caller],
        reason: Annotated[
            str, QueryParameter(required=False, max_length=500, pattern=r"^[^\x00-\x1f]*$")
        ] = "",
    ) -> Response[Accepted]:
        """Undo a whole import by compensating events: its transactions are reverted (their
        postings leave the balances; the history keeps them), and transfers it matched and
        pending transactions it posted are what they were before. Refused (409) if one of
        them is reconciled. A corrected file imports cleanly afterwards."""
        result = c.run(lambda: c.services.imports.undo(c.household, batch_id, c.user_id, reason))
        return accepted(Appended(batch_id, result.version, result.position))

    @query("/", "listImports")
    def list_(
        self, c: NamedDependency[Caller], token: TokenHeader = None, after: TokenQuery = None
    ) -> list[ImportView]:
        """The last 100 imports, newest first, with their reports."""
        read_after(c.services, (TRANSACTIONS_SCHEMA,), token, after)
        return q.list_imports(c.services.reads, c.household, c.user_id)

    @query("/{batch_id:uuid}", "getImport")
    def get_one(
        self,
        batch_id: FromPath[UUID],
        c: NamedDependency[Caller],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> ImportView:
        """One import and its report."""
        read_after(c.services, (TRANSACTIONS_SCHEMA,), token, after)
        return q.get_import(c.services.reads, c.household, batch_id, c.user_id)


class ImportBatchController(ImportBatchHandlers, Controller):
    path = "/api/v1/imports"
    tags = ["imports"]
    dependencies = DEPENDENCIES
