"""Request hygiene: JSON bodies with duplicate keys are refused, and an access log that
never records query strings (searches may hold account numbers) or headers."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("fiscaflow.access")


class DuplicateKeyError(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        raise DuplicateKeyError(f"duplicate keys {duplicated}")
    return dict(pairs)


async def refuse_duplicate_keys(request: Request[Any, Any, Any]) -> None:
    """Two parsers must never read one body two ways: a repeated key is a 422."""
    if request.method not in {"POST", "PUT", "PATCH"} or "json" not in request.content_type[0]:
        return
    body = await request.body()  # cached: the handler's own decoding reads it again
    if not body:
        return
    try:
        json.loads(body, object_pairs_hook=_refuse_duplicates)
    except DuplicateKeyError as error:
        raise ValidationException(str(error), extra=[{"message": str(error), "source": "body"}]) from None
    except ValueError:
        return  # malformed JSON: the handler's decoder answers 400


def access_log(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: method, path (no query string), status and milliseconds."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started, status = time.perf_counter(), 0

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, recording_send)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %.1fms", scope["method"], scope["path"], status, elapsed)

    return middleware
