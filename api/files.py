"""Receipts (files attached to transactions) and exports of the transaction list."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import IO, Annotated, Any, Literal
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from api.accounts import DEPENDENCIES, WRITE
from api.auth import principal
from api.consistency import TokenHeader, TokenQuery, read_after
from api.idempotency import KeyHeader
from api.imports import FileNameQuery, caller_without_key
from api.responses import COMMAND_PROBLEMS, COMMON_PROBLEMS, Accepted, accepted, problem_spec, query
from api.tenancy import Caller
from api.transactions import AmountQuery, CategoryQuery, TextQuery, _amount
from commands.files import FileTooLargeError, sniffed_type
from commands.idempotency_key import IdempotencyKey
from ledger.errors import InvalidInputError, NotFoundError
from queries import transactions as q
from queries.db import TRANSACTIONS_SCHEMA
from queries.views import ReceiptView, TransactionView

Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
LINK_LIFETIME = dt.timedelta(hours=1)
ExportToken = Annotated[str, msgspec.Meta(max_length=300, pattern=r"^[0-9a-z.-]+$")]
TEXT_COLUMNS = ("description", "merchant", "category", "notes", "tags")


async def spool(stream: AsyncIterator[bytes], limit: int) -> tuple[IO[bytes], int, str, bytes]:
    """The request body in a temporary file (on disk past 1 MiB), refused past ``limit``."""
    digest, size, head = hashlib.sha256(), 0, b""
    out = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - the caller closes it
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            out.close()
            raise FileTooLargeError(f"a receipt is at most {limit} bytes")
        digest.update(chunk)
        head += chunk[: max(0, 64 - len(head))]
        out.write(chunk)
    out.seek(0)
    return out, size, digest.hexdigest(), head


class ReceiptHandlers:
    @post(
        "/",
        operation_id="attachReceipt",
        status_code=201,
        guards=WRITE,
        responses=COMMAND_PROBLEMS
        | {415: problem_spec("Not a receipt type we take, or the bytes are not the type declared")},
        request_max_body_size=64 * 1024 * 1024,
    )
    async def attach(
        self,
        request: Request[Any, Any, Any],
        transaction_id: FromPath[UUID],
        c: NamedDependency[Caller],
        file_name: FileNameQuery = None,
        idempotency_key: KeyHeader = None,
    ) -> Response[Accepted]:
        """Attach a file (the body; `Content-Type` application/pdf, image/jpeg, image/png,
        image/webp or image/heic, and the bytes must agree) to a transaction. Files are
        stored by the sha256 of their bytes; the limit is FISCAFLOW_MAX_RECEIPT_BYTES."""
        services = c.services
        declared = request.headers.get("content-type", "")
        # 404/403 before anything else: a caller who may not annotate learns nothing more.
        check = services.transactions.check_annotatable
        await anyio.to_thread.run_sync(lambda: check(c.household, transaction_id, c.user_id))
        spooled, size, sha256, head = await spool(request.stream(), services.settings.max_receipt_bytes)
        try:
            if size == 0:
                raise InvalidInputError("the file is empty")
            media = sniffed_type(declared, head)
            me = principal(request)
            key = None
            if idempotency_key is not None:
                scope = f"{me.user_id}:{me.household_id}"
                key = IdempotencyKey.of(scope, idempotency_key, "POST", request.url.path, sha256.encode())
            keyed = Caller(c.principal, services, key)
            name = file_name or f"receipt-{sha256[:12]}"

            def attach() -> Any:
                if not services.blobs.exists(f"receipts/{sha256}"):
                    services.blobs.put(f"receipts/{sha256}", spooled, size, media)
                attach_it = services.transactions.attach_receipt
                return keyed.run(
                    lambda: attach_it(c.household, transaction_id, (sha256, name, media, size), c.user_id)
                )

            result = await anyio.to_thread.run_sync(attach)
        finally:
            spooled.close()
        return accepted(result, 201, f"/api/v1/transactions/{transaction_id}/receipts/{sha256}")

    @get("/", operation_id="listReceipts", sync_to_thread=True, responses=COMMON_PROBLEMS)
    def list_(
        self,
        transaction_id: FromPath[UUID],
        c: NamedDependency[Caller],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> list[ReceiptView]:
        """The files attached to a transaction."""
        read_after(c.services, (TRANSACTIONS_SCHEMA,), token, after)
        return q.receipts(c.services.reads, c.household, transaction_id, c.user_id)

    @get("/{sha256:str}", operation_id="getReceipt", sync_to_thread=True, responses=COMMON_PROBLEMS)
    def download(
        self,
        transaction_id: FromPath[UUID],
        sha256: FromPath[Sha256],
        c: NamedDependency[Caller],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> Stream:
        """The file's bytes, as they were attached."""
        read_after(c.services, (TRANSACTIONS_SCHEMA,), token, after)
        found = [
            r
            for r in q.receipts(c.services.reads, c.household, transaction_id, c.user_id)
            if r.sha256 == sha256
        ]
        if not found:
            raise NotFoundError(f"no receipt {sha256} on transaction {transaction_id}")
        receipt = found[0]
        return Stream(
            c.services.blobs.read(f"receipts/{sha256}"),
            media_type=receipt.content_type,
            headers={
                "Content-Disposition": f'attachment; filename="{safe_name(receipt.name)}"',
                "Content-Length": str(receipt.size),
            },
        )

    @delete(
        "/{sha256:str}",
        operation_id="detachReceipt",
        status_code=200,
        guards=WRITE,
        sync_to_thread=True,
        responses=COMMAND_PROBLEMS,
    )
    def detach(
        self, transaction_id: FromPath[UUID], sha256: FromPath[Sha256], c: NamedDependency[Caller]
    ) -> Response[Accepted]:
        """Detach a file from a transaction (the history keeps that it was attached)."""
        detach = c.services.transactions.detach_receipt
        return accepted(c.run(lambda: detach(c.household, transaction_id, sha256, c.user_id)))


def safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in name)[:100] or "receipt"


class ReceiptController(ReceiptHandlers, Controller):
    path = "/api/v1/transactions/{transaction_id:uuid}/receipts"
    tags = ["receipts"]
    dependencies = {"c": Provide(caller_without_key, sync_to_thread=False)}


# --- export -------------------------------------------------------------------------------


class ExportLink(msgspec.Struct, kw_only=True):
    """A large export, written to file storage: fetch it from ``url`` before ``expires_at``."""

    rows: int
    format: str
    url: str
    expires_at: dt.datetime


def csv_cell(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


CSV_COLUMNS = (
    "id", "date", "kind", "status", "description", "merchant", "category", "tags", "notes", "amount",
    "currency", "account_id", "to_account_id", "reconciled", "categorization_source", "import_batch_id",
)  # fmt: skip


def csv_lines(items: Iterator[TransactionView]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for n, item in enumerate(items):
        row = []
        for column in CSV_COLUMNS:
            value = getattr(item, column)
            if column == "tags":
                value = ";".join(value)
            text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            row.append(csv_cell(text) if column in TEXT_COLUMNS else text)
        writer.writerow(row)
        if n % 200 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def jsonl_lines(items: Iterator[TransactionView]) -> Iterator[bytes]:
    encoder = msgspec.json.Encoder()
    for item in items:
        yield encoder.encode(item) + b"\n"


class ExportHandlers:
    @get(
        "/",
        operation_id="exportTransactions",
        sync_to_thread=True,
        responses=COMMON_PROBLEMS
        | {202: ResponseSpec(data_container=ExportLink, description="A link to a large export")},
    )
    def export(
        self,
        c: NamedDependency[Caller],
        export_format: Annotated[
            Literal["csv", "jsonl"], QueryParameter(name="format", required=False)
        ] = "csv",
        account_id: FromQuery[UUID | None] = None,
        date_from: FromQuery[dt.date | None] = None,
        date_to: FromQuery[dt.date | None] = None,
        category: CategoryQuery = None,
        status: FromQuery[Literal["pending", "posted", "cancelled", "disputed"] | None] = None,
        kind: FromQuery[Literal["expense", "income", "transfer"] | None] = None,
        min_amount: AmountQuery = None,
        max_amount: AmountQuery = None,
        q_: TextQuery = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> Stream:
        """Export the transactions the list's filters select, oldest first, as CSV or JSON
        lines. Up to FISCAFLOW_EXPORT_INLINE_ROWS rows stream in the answer (200); a larger
        export is written to file storage and answered with a download link (202)."""
        read_after(c.services, (TRANSACTIONS_SCHEMA,), token, after)
        filters = q.TransactionFilter(
            account_id=account_id, date_from=date_from, date_to=date_to, category=category, status=status,
            kind=kind, min_amount=_amount(min_amount), max_amount=_amount(max_amount), text=q_,
        )  # fmt: skip
        reads, household, viewer = c.services.reads, c.household, c.user_id
        rows = q.count_transactions(reads, household, filters, viewer)
        encode = csv_lines if export_format == "csv" else jsonl_lines
        media = "text/csv; charset=utf-8" if export_format == "csv" else "application/x-ndjson"
        name = f"transactions-{dt.date.today().isoformat()}.{export_format}"
        if rows <= c.services.settings.export_inline_rows:
            return Stream(
                encode(q.export_transactions(reads, household, filters, viewer)),
                media_type=media,
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        key = f"exports/{household}/{uuid.uuid4()}.{export_format}"
        with tempfile.TemporaryFile() as out:
            for chunk in encode(q.export_transactions(reads, household, filters, viewer)):
                out.write(chunk)
            size = out.tell()
            out.seek(0)
            c.services.blobs.put(key, out, size, media.split(";", maxsplit=1)[0])
        expires = dt.datetime.now(dt.UTC) + LINK_LIFETIME
        url = c.services.blobs.link(key, LINK_LIFETIME, name) or self._api_link(c, key, expires)
        link = ExportLink(rows=rows, format=export_format, url=url, expires_at=expires)
        return Stream(iter([msgspec.json.encode(link)]), status_code=202, media_type="application/json")

    @staticmethod
    def _api_link(c: Caller, key: str, expires: dt.datetime) -> str:
        return f"/api/v1/exports/{sign_export(c.services.settings.jwt_secret or '', key, expires)}"


def sign_export(secret: str, key: str, expires: dt.datetime) -> str:
    """``<household>.<file>.<expiry>.<hmac>``: a link only the household that made it can use."""
    _, household, file = key.split("/")
    payload = f"{household}.{file}.{int(expires.timestamp())}"
    mac = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payload}.{mac}"


def verify_export(secret: str, token: str, household: UUID) -> str:
    try:
        owner, file_id, ext, expiry, mac = token.split(".")
    except ValueError:
        raise NotFoundError("no such export") from None
    payload = f"{owner}.{file_id}.{ext}.{expiry}"
    wanted = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(wanted, mac) or owner != str(household):
        raise NotFoundError("no such export")
    if int(expiry) < dt.datetime.now(dt.UTC).timestamp():
        raise NotFoundError("the export link has expired")
    return f"exports/{owner}/{file_id}.{ext}"


class ExportController(ExportHandlers, Controller):
    path = "/api/v1/transactions/export"
    tags = ["exports"]
    dependencies = DEPENDENCIES


class ExportDownloadHandlers:
    @query("/{token:str}", "downloadExport")
    def download(self, token: FromPath[ExportToken], c: NamedDependency[Caller]) -> Stream:
        """A large export written to the folder store (S3 hands out its own links)."""
        key = verify_export(c.services.settings.jwt_secret or "", token, c.household)
        if not c.services.blobs.exists(key):
            raise NotFoundError("no such export")
        media = "text/csv; charset=utf-8" if key.endswith(".csv") else "application/x-ndjson"
        return Stream(c.services.blobs.read(key), media_type=media)


class ExportDownloadController(ExportDownloadHandlers, Controller):
    path = "/api/v1/exports"
    tags = ["exports"]
    dependencies = DEPENDENCIES
