"""Who is calling, for which household. Until identity lands, a development-only header."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from api.services import Services

TENANT_HEADER = "X-Household-Id"


def household(request: Request[Any, Any, Any]) -> UUID:
    """The caller's household: from the X-Household-Id header, in development mode only."""
    services: Services = request.app.state.services
    if not services.settings.dev_tenant_header:
        raise NotAuthorizedException("authentication required")
    value = request.headers.get(TENANT_HEADER)
    try:
        return UUID(value or "")
    except ValueError:
        raise NotAuthorizedException(f"send your household id in {TENANT_HEADER}") from None


def services(request: Request[Any, Any, Any]) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]
