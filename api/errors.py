"""The one place that turns errors into RFC 9457 problem+json responses.

A client never sees a stack trace, a SQL error, or a 500 for input it sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio
import psycopg
from eventsourcing.persistence import OperationalError as EventStoreOperationalError
from litestar import Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import HTTPException, ValidationException
from litestar.exceptions.http_exceptions import NotAuthorizedException

from api.throttle import LoginThrottledError
from commands.files import FileTooLargeError, UnsupportedMediaTypeError
from commands.tokens import InvalidTokenError
from commands.users import InvalidCredentialsError
from commands.write_path import StoreUnavailableError
from ledger.errors import ConflictError, DomainError, ForbiddenError, InvalidInputError, NotFoundError
from queries.consistency import ProjectionLagError, UnknownPositionError

log = logging.getLogger("fiscaflow.api")
PROBLEM = "application/problem+json"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",  # browsers heed it over HTTPS only
}
TYPE_BASE = "https://fiscaflow.dev/problems/"


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    request: Request[Any, Any, Any],
    headers: dict[str, str] | None = None,
    background: BackgroundTask | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = SECURITY_HEADERS | dict(headers or {})  # error answers are built here, not by routes
    if status in (429, 503):
        headers.setdefault("Retry-After", "1")
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers, background=background)


# The most specific class first: FileTooLargeError and UnsupportedMediaTypeError are kinds
# of InvalidInputError.
DOMAIN_STATUSES: tuple[tuple[type[DomainError], int], ...] = (
    (NotFoundError, 404),
    (ForbiddenError, 403),
    (ConflictError, 409),
    (FileTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (InvalidInputError, 422),
)


def domain_status(error: DomainError) -> int:
    return next((status for kind, status in DOMAIN_STATUSES if isinstance(error, kind)), 422)


def on_domain_error(request: Request[Any, Any, Any], error: DomainError) -> Response[dict[str, Any]]:
    return problem(domain_status(error), error.type, error.title, error.detail, request, **error.extra)


def on_validation_error(
    request: Request[Any, Any, Any], error: ValidationException
) -> Response[dict[str, Any]]:
    errors = error.extra if isinstance(error.extra, list) else []
    malformed = any("malformed" in str(e.get("message", "")).lower() for e in errors if isinstance(e, dict))
    if malformed or "malformed" in str(error.detail).lower():
        return problem(400, "malformed-request", "Malformed request", "the body is not valid JSON", request)
    return problem(
        422, "validation", "Invalid request", "the request does not match the schema", request, errors=errors
    )


async def after_answer(work: Callable[[], object]) -> None:
    """Work left for after the answer (recording a failed login on its user)."""
    try:
        await anyio.to_thread.run_sync(work)
    except Exception:
        log.exception("work after the answer failed")


def on_invalid_credentials(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, Any]]:
    detail = "invalid email or password"
    work = getattr(error, "after_answer", None)
    return problem(
        401, "invalid-credentials", "Login failed", detail, request, {"WWW-Authenticate": "Bearer"},
        background=BackgroundTask(after_answer, work) if work is not None else None,
    )  # fmt: skip


def on_invalid_token(request: Request[Any, Any, Any], error: InvalidTokenError) -> Response[dict[str, Any]]:
    return problem(401, "invalid-token", "Invalid token", str(error), request, {"WWW-Authenticate": "Bearer"})


def on_throttled(request: Request[Any, Any, Any], error: LoginThrottledError) -> Response[dict[str, Any]]:
    headers = {"Retry-After": str(error.retry_after)}
    return problem(429, "login-throttled", "Too many failed logins", str(error), request, headers)


def on_http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[dict[str, Any]]:
    slugs = {
        400: "malformed-request",
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
        429: "rate-limited",
    }
    slug = slugs.get(error.status_code, f"http-{error.status_code}")
    if isinstance(error, NotAuthorizedException):
        slug = "unauthorized"
    headers = dict(error.headers or {})  # e.g. Allow on 405, Retry-After on 429
    if error.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return problem(error.status_code, slug, str(error.detail) or "Error", str(error.detail), request, headers)


def on_store_unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, Any]]:
    log.warning("event store unavailable: %s", error)
    return problem(503, "store-unavailable", "Try again shortly", "the ledger is busy; retry", request)


def on_unknown_position(
    request: Request[Any, Any, Any], error: UnknownPositionError
) -> Response[dict[str, Any]]:
    return problem(422, "unknown-consistency-token", "Unknown consistency token", str(error), request)


def on_lag(request: Request[Any, Any, Any], error: ProjectionLagError) -> Response[dict[str, Any]]:
    return problem(503, "projection-lag", "Read models are catching up", str(error), request)


def on_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, Any]]:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(500, "internal", "Internal error", "something went wrong on our side", request)


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    DomainError: on_domain_error,
    InvalidCredentialsError: on_invalid_credentials,
    InvalidTokenError: on_invalid_token,
    LoginThrottledError: on_throttled,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    StoreUnavailableError: on_store_unavailable,
    # A connection lost or refused anywhere else (a read, a load, the idempotency store):
    # the same clear 503, never a 500 (tests/reliability/test_connection_drops.py).
    psycopg.OperationalError: on_store_unavailable,
    EventStoreOperationalError: on_store_unavailable,
    UnknownPositionError: on_unknown_position,
    ProjectionLagError: on_lag,
    Exception: on_unexpected,
}
