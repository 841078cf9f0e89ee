"""Shapes and headers shared by command endpoints."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Response

from commands.write_path import Appended
from ledger.errors import InvalidInputError

CONSISTENCY_HEADER = "X-Consistency-Token"


class Accepted(msgspec.Struct, kw_only=True):
    """A command was applied: the aggregate, its new version and the consistency token."""

    id: UUID
    version: int
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
