"""Authentication (bearer JWTs, via Litestar's JWTAuth) and authorization helpers.

Every route needs a valid access token except the few listed in PUBLIC. The token says
who calls (``sub``), for which household (``hid``) and with which roles; its revocation
is checked against the store: a denied ``jti`` (logout) or a user whose sessions were
revoked after the token was issued (password change, suspension, removal).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore

from api.responses import Accepted
from commands.personal_tokens import PREFIX
from commands.tokens import ACCESS_TTL, ALGORITHM, AUDIENCE, ISSUER, REQUIRED_CLAIMS
from commands.write_path import Appended
from ledger.errors import ForbiddenError
from ledger.household import HouseholdRole
from ledger.user import GlobalRole

PUBLIC = [
    "^/health$",
    "^/ready$",
    "^/metrics$",  # Prometheus scrapes without a token: keep it on the cluster network
    "^/schema",
    "^/api/v1/users/register$",
    "^/api/v1/users/login$",
    "^/api/v1/users/login/2fa$",
    "^/api/v1/users/refresh-token$",
    "^/api/v1/users/verify-email$",
]
WRITERS = frozenset({HouseholdRole.OWNER, HouseholdRole.MEMBER})
FULL_SCOPES = frozenset({"read", "write", "identity"})
# Where a personal access token may go: household data, never logins or memberships.
PERSONAL_TOKEN_PATHS = ("/api/v1/accounts", "/api/v1/transactions")


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    user_id: UUID
    household_id: UUID
    household_role: str
    role: str
    jti: str
    expires_at: float
    scopes: frozenset[str] = FULL_SCOPES

    @property
    def personal(self) -> bool:
        """Authenticated by a personal access token rather than a login."""
        return self.scopes != FULL_SCOPES

    def check_can_write(self) -> None:
        if self.household_role not in WRITERS:
            raise ForbiddenError("your role in this household may only read")
        if "write" not in self.scopes:
            raise ForbiddenError("this personal access token may only read")

    def check_admin(self) -> None:
        if self.role != GlobalRole.ADMIN:
            raise ForbiddenError("only an admin may do this")

    def check_auditor(self) -> None:
        """Compliance staff (auditors) and admins read the event log; nobody else."""
        if self.role not in (GlobalRole.AUDITOR, GlobalRole.ADMIN) or self.personal:
            raise ForbiddenError("only an auditor or an admin may read the audit trail")


async def retrieve_principal(
    token: Token, connection: ASGIConnection[Any, Any, Any, Any]
) -> Principal | None:
    extras = token.extras
    if extras.get("typ") != "access":
        return None
    try:
        return Principal(
            user_id=UUID(token.sub),
            household_id=UUID(str(extras["hid"])),
            household_role=str(extras["hrole"]),
            role=str(extras["role"]),
            jti=str(token.jti),
            expires_at=token.exp.timestamp(),
        )
    except (KeyError, ValueError):
        return None


def auth_store(connection: ASGIConnection[Any, Any, Any, Any]) -> Store:
    return connection.app.stores.get("auth")


class SharedStore(RedisStore):
    """Litestar's Redis store, which also reads several keys in one round trip."""

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        return list(await self._redis.mget([self._make_key(k) for k in keys]))


async def get_many(store: Store, keys: list[str]) -> list[bytes | None]:
    """The values of ``keys`` (None: absent or expired), in one round trip on Redis."""
    if isinstance(store, SharedStore):
        return await store.get_many(keys)
    return [await store.get(k) for k in keys]


async def is_revoked(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    denied, revoked_before = await get_many(
        auth_store(connection), [f"deny:{token.jti}", f"revoked-before:{token.sub}"]
    )
    if denied is not None:
        return True
    issued_ms = token.extras.get("iat_ms")
    if revoked_before is None:
        return False
    return not isinstance(issued_ms, int) or issued_ms <= int(revoked_before)


async def deny_token(store: Store, principal: Principal) -> None:
    """Logout: this access token is refused until it would have expired anyway."""
    remaining = max(1, int(principal.expires_at - time.time()) + 1)
    await store.set(f"deny:{principal.jti}", b"1", expires_in=remaining)


async def revoke_access(store: Store, user_id: UUID) -> None:
    """Every access token of this user issued until now is refused from now on."""
    now_ms = int(time.time() * 1000)
    await store.set(f"revoked-before:{user_id}", str(now_ms), expires_in=int(ACCESS_TTL.total_seconds()) + 60)


async def sessions_ended(request: Request[Any, Any, Any], user_id: UUID, result: Appended) -> Accepted:
    """The answer of a command that ends a user's sessions (deletion, erasure, suspension,
    a changed or removed membership): their access tokens are refused from now on."""
    await revoke_access(request.app.stores.get("auth"), user_id)
    return Accepted(id=result.id, version=result.version, consistency_token=result.position)


VERIFIED_SIZE = 4096  # tokens remembered as verified, per process


@dataclass(frozen=True, slots=True)
class Verified:
    token: Token
    principal: Principal
    expires_at: float


# (secret, encoded token) -> what its verification gave. Checking a token's signature and
# claims is about 5 % of a command's CPU; a client sends the same token for 15 minutes.
# A hit still checks the expiry, and revocation is checked on every request.
VERIFIED: dict[tuple[str, str], Verified] = {}


class BearerAuthenticationMiddleware(JWTAuthenticationMiddleware):
    """Bearer JWTs as Litestar verifies them, plus personal access tokens (``ffpat_...``)."""

    async def authenticate_token(
        self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """Litestar's verification (and revocation check), remembered per token until it
        expires (see VERIFIED); a remembered token's revocation is checked again."""
        key = (self.token_secret, encoded_token)
        verified = VERIFIED.get(key)
        if verified is None or verified.expires_at <= time.time():
            result = await super().authenticate_token(encoded_token, connection)
            VERIFIED.pop(key, None)
            if len(VERIFIED) >= VERIFIED_SIZE:
                del VERIFIED[next(iter(VERIFIED))]  # the oldest
            VERIFIED[key] = Verified(result.auth, result.user, result.auth.exp.timestamp())
            return result
        revoked = self.revoked_token_handler
        if revoked is not None and await revoked(verified.token, connection):
            raise NotAuthorizedException()
        return AuthenticationResult(user=verified.principal, auth=verified.token)

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, presented = connection.headers.get(self.auth_header, "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise NotAuthorizedException("send Authorization: Bearer <token>")
        if not presented.startswith(PREFIX):
            return await super().authenticate_request(connection)
        if not connection.url.path.startswith(PERSONAL_TOKEN_PATHS):
            raise PermissionDeniedException("personal access tokens reach accounts and transactions only")
        services = connection.app.state.services
        found = await sync_to_thread(services.personal_tokens.resolve, presented)
        if found is None:
            raise NotAuthorizedException("invalid token")
        grant = found.grant
        user = Principal(
            user_id=grant.user_id,
            household_id=grant.household_id,
            household_role=grant.household_role,
            role=grant.role,
            jti=str(found.token_id),
            expires_at=0.0,
            scopes=found.scopes,
        )
        return AuthenticationResult(user=user, auth=found)


def jwt_auth(secret: str) -> JWTAuth[Principal]:
    return JWTAuth[Principal](
        authentication_middleware_class=BearerAuthenticationMiddleware,
        retrieve_user_handler=retrieve_principal,
        revoked_token_handler=is_revoked,
        token_secret=secret,
        algorithm=ALGORITHM,
        accepted_audiences=[AUDIENCE],
        accepted_issuers=[ISSUER],
        require_claims=REQUIRED_CLAIMS,
        strict_audience=True,
        exclude=PUBLIC,
        description="Access token from POST /api/v1/users/login (15 minutes).",
    )


def principal(request: Any) -> Principal:
    user = request.user
    if not isinstance(user, Principal):
        raise NotAuthorizedException("authentication required")
    return user


def can_write(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of command routes on household data: read_only members and read-scoped
    personal tokens get 403."""
    principal(connection).check_can_write()
