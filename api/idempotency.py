"""The Idempotency-Key header of command routes (IETF draft semantics, keys kept 24 h)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import HeaderParameter

from api.auth import principal
from commands.idempotency_key import IdempotencyKey

KeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID): a retry with the same key and body answers the "
        "same and changes nothing; the same key with another body answers 409.",
    ),
]


async def idempotency_key(
    request: Request[Any, Any, Any], idempotency_key: KeyHeader = None
) -> IdempotencyKey | None:
    """The request's key, scoped to the caller (user and household), with its fingerprint."""
    if idempotency_key is None:
        return None
    me = principal(request)
    body = await request.body()
    scope = f"{me.user_id}:{me.household_id}"
    return IdempotencyKey.of(scope, idempotency_key, request.method, request.url.path, body)
