"""Request hygiene: JSON bodies with duplicate keys are refused, and an access log that
never records query strings (searches may hold account numbers) or headers. The request's
correlation id is bound to structlog's contextvars: every log line of the request has it."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from typing import Any

import structlog
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.overrides import record_override
from api.telemetry import count_command, observe_request
from commands.audit_context import AUDIT
from ops.telemetry import tracing

log = logging.getLogger("fiscaflow.access")
CORRELATION = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CORRELATION_KEY = "fiscaflow_correlation_id"


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


def correlation_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` if it is a plain token, else a new one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if CORRELATION.match(text):
                return text
    return uuid.uuid4().hex


def access_log(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: method, path (no query string), status and milliseconds, with the
    correlation id (a field of the line), which every answer carries back as ``X-Request-ID``."""

    spans = tracing()  # else the OpenTelemetry plugin is not installed (api/app.py)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started, status = time.perf_counter(), 0
        correlation = correlation_id(scope)
        scope.setdefault("state", {})[CORRELATION_KEY] = correlation  # type: ignore[typeddict-unknown-key]
        bound = structlog.contextvars.bind_contextvars(correlation_id=correlation)  # on every log line

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", correlation.encode())]
            await send(message)

        try:
            await app(scope, receive, recording_send)
        except Exception as error:
            # Answered by Litestar's outer exception handler (e.g. a 401 from the
            # authentication middleware, which runs inside this one): log its status.
            status = status or int(getattr(error, "status_code", 500))
            raise
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            # The correlation id is a field of every line (bound above), not repeated here.
            log.info("%s %s %s %.1fms", scope["method"], scope["path"], status, elapsed)
            count_command(scope, status)
            if not spans:
                observe_request(scope, status, elapsed)
            structlog.contextvars.reset_contextvars(**bound)

    return middleware


def record_who_and_why(request: Request[Any, Any, Any]) -> None:
    """The audit context of the events this request may append (commands/audit_context.py):
    the actor and household, the correlation id, the command (the route's operation id) and
    the client's address as a keyed hash (the address itself is personal data)."""
    principal = request.scope.get("user")
    secret = (request.app.state.services.settings.jwt_secret or "").encode()
    client = request.client.host if request.client else ""
    handler = request.scope.get("route_handler")
    AUDIT.set(
        {
            "actor": str(principal.user_id) if hasattr(principal, "user_id") else None,
            "household": str(principal.household_id) if hasattr(principal, "household_id") else None,
            "correlation_id": request.scope.get("state", {}).get(CORRELATION_KEY),
            "command": getattr(handler, "operation_id", None) or getattr(handler, "name", None),
            "client": hmac.new(secret, client.encode(), hashlib.sha256).hexdigest()[:32],
        }
    )


async def before_request(request: Request[Any, Any, Any]) -> None:
    if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
        record_who_and_why(request)
        record_override(request)
    await refuse_duplicate_keys(request)
