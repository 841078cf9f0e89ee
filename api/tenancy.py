"""Who is calling, for which household: from the verified access token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.di import NamedDependency

from api.auth import Principal, principal
from api.services import Services
from commands.idempotency_key import IdempotencyKey
from commands.write_path import Appended


def household(request: Request[Any, Any, Any]) -> UUID:
    """The caller's household (the tenant): every query and command is scoped to it."""
    return principal(request).household_id


def caller(request: Request[Any, Any, Any]) -> Principal:
    return principal(request)


@dataclass(frozen=True, slots=True)
class Caller:
    """What a handler of household data needs: who calls (and for which household), the
    services, and the request's idempotency key."""

    principal: Principal
    services: Services
    idempotency: IdempotencyKey | None

    @property
    def household(self) -> UUID:
        return self.principal.household_id

    @property
    def user_id(self) -> UUID:
        return self.principal.user_id

    def run(self, command: Callable[[], Appended]) -> Appended:
        """Run a command once per Idempotency-Key (every time without one)."""
        return self.services.idempotency.run(self.idempotency, command)


def household_caller(request: Request[Any, Any, Any], idem: NamedDependency[IdempotencyKey | None]) -> Caller:
    return Caller(principal(request), request.app.state.services, idem)


def services(request: Request[Any, Any, Any]) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]
