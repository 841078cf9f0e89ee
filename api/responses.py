"""Shapes and headers shared by command endpoints."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec

from commands.write_path import Appended
from ledger.errors import InvalidInputError

CONSISTENCY_HEADER = "X-Consistency-Token"
PROBLEM_MEDIA_TYPE = "application/problem+json"


class Accepted(msgspec.Struct, kw_only=True):
    """A command was applied: the aggregate, its new version and the consistency token."""

    id: UUID
    version: int
    consistency_token: int


class BulkAccepted(msgspec.Struct, kw_only=True):
    """Transactions recorded together: their ids in the order sent, and the consistency token."""

    ids: list[UUID]
    consistency_token: int


def accepted(result: Appended, status: int = 200, location: str | None = None) -> Response[Accepted]:
    headers = {CONSISTENCY_HEADER: str(result.position), "ETag": f'"{result.version}"'}
    if location:
        headers["Location"] = location
    body = Accepted(id=result.id, version=result.version, consistency_token=result.position)
    return Response(body, status_code=status, headers=headers)


def expected_version(if_match: str | None) -> int | None:
    """Parse an If-Match header holding a version ("3" or the ETag "\"3\"")."""
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise InvalidInputError('If-Match must hold the version you last read, e.g. "3"')
    return int(text)


def consistency_token(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise InvalidInputError(f"{CONSISTENCY_HEADER} must be a position returned by a command")
    return int(value)


__all__ = ["Accepted", "accepted", "consistency_token", "expected_version"]


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem document; extension members depend on the problem type."""

    item: int | None = None  # the refused item of a bulk command
    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[dict[str, str]] | None = None
    current_version: int | None = None
    competing_changes: list[dict[str, object]] | None = None
    balance: str | None = None
    minimum_balance: str | None = None
    difference: str | None = None  # reconciliation-mismatch
    ledger_balance: str | None = None
    statement_balance: str | None = None
    candidates: list[dict[str, object]] | None = None
    closed_through: str | None = None  # period-closed: the last day of the closed period
    transaction_id: str | None = None  # period-closed: the transaction that would change it
    transactions: list[str] | None = None  # open-holds: pending transactions in the period


def problem_spec(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )


COMMON_PROBLEMS = {
    400: problem_spec("Malformed JSON"),
    401: problem_spec("Missing, invalid, expired or revoked access token"),
    403: problem_spec("Your role may not do this"),
    404: problem_spec("No such resource in your household"),
    405: problem_spec("Method not allowed"),
    413: problem_spec("Body too large"),
    422: problem_spec("Invalid input"),
    429: problem_spec("Too many requests; retry after Retry-After seconds"),
    503: problem_spec("Busy, or read models behind the consistency token; retry after Retry-After"),
}
COMMAND_PROBLEMS = COMMON_PROBLEMS | {409: problem_spec("Conflict: stale version, illegal change or limit")}


def command(
    method: Any,
    path: str,
    operation_id: str,
    status_code: int = 200,
    *,
    guards: list[Any] | None = None,
    blocking: bool = True,
) -> Any:
    """A command route: conflicts documented; a blocking handler runs in a thread."""
    options: dict[str, Any] = {"operation_id": operation_id, "status_code": status_code}
    options |= {"responses": COMMAND_PROBLEMS, "guards": guards}
    if blocking:
        options["sync_to_thread"] = True
    return method(path, **options)


def query(path: str, operation_id: str) -> Any:
    """A query route: blocking handler in a thread, reads read models only."""
    return get(path, operation_id=operation_id, sync_to_thread=True, responses=COMMON_PROBLEMS)


def cached_query(path: str, operation_id: str) -> Any:
    """A query route whose answer is cached (api/cache.py): an async handler that runs the
    blocking parts in threads itself."""
    return get(path, operation_id=operation_id, responses=COMMON_PROBLEMS)
