"""The ``X-Override-Reason`` header: an admin's reason to change a closed period, carried
to the write side for the request (commands/closed_periods.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request

from commands.closed_periods import OVERRIDE, Override
from ledger.books import check_reason
from ledger.user import GlobalRole

OVERRIDE_HEADER = "X-Override-Reason"


def record_override(request: Request[Any, Any, Any]) -> None:
    """Who asks to override, and why; a reason that is not printable text of 1 to 500
    characters is a 422. Whether the caller may override is decided where it matters."""
    reason = request.headers.get(OVERRIDE_HEADER)
    principal = request.scope.get("user")
    if reason is None or not hasattr(principal, "user_id"):
        OVERRIDE.set(None)
        return
    # An admin's login, not a script's personal access token, may override.
    admin = getattr(principal, "role", None) == GlobalRole.ADMIN and not getattr(principal, "personal", True)
    OVERRIDE.set(Override(check_reason(reason), principal.user_id, admin))
