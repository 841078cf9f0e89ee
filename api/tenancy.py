"""Who is calling, for which household: from the verified access token."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request

from api.auth import Principal, principal
from api.services import Services


def household(request: Request[Any, Any, Any]) -> UUID:
    """The caller's household (the tenant): every query and command is scoped to it."""
    return principal(request).household_id


def caller(request: Request[Any, Any, Any]) -> Principal:
    return principal(request)


def services(request: Request[Any, Any, Any]) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]
