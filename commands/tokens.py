"""Tokens: short-lived access JWTs, rotating refresh tokens with reuse detection, and
signed one-time tokens (email verification, household invitations).

Refresh tokens are opaque random strings; only their SHA-256 is stored. Each login starts
a family with an absolute expiry; every refresh spends the presented token and issues the
next one. Presenting a spent token again revokes the whole family (someone copied it).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from uuid import UUID, uuid4

import jwt
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

ISSUER = "fiscaflow"
AUDIENCE = "fiscaflow-api"
ALGORITHM = "HS256"  # pinned: verification accepts nothing else
ACCESS_TTL = timedelta(minutes=15)
REFRESH_FAMILY_TTL = timedelta(days=7)
AUTH_SCHEMA_VERSIONS = (1, 2, 3)
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "jti", "sub", "typ"]


class InvalidTokenError(Exception):
    """A token that is malformed, forged, expired, revoked or of the wrong kind (401)."""


class RefreshReuseError(InvalidTokenError):
    """A spent refresh token came back: someone holds a copy. Its family is revoked; the
    caller must also deny the access tokens of that user issued until now."""

    def __init__(self, user_id: UUID) -> None:
        super().__init__("refresh token reused: every session of this login is revoked")
        self.user_id = user_id


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """Who a token speaks for, and in which household with which role."""

    user_id: UUID
    household_id: UUID
    household_role: str
    role: str


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


def now_utc() -> datetime:
    return datetime.now(UTC)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenService:
    """Issues and verifies tokens; keeps refresh-token families in PostgreSQL."""

    def __init__(
        self, secret: str, pool: ConnectionPool[Any], clock: Callable[[], datetime] = now_utc
    ) -> None:
        self.secret = secret
        self.pool = pool
        self.clock = clock

    def create_schema(self) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('fiscaflow.auth.schema'))")
            for version in AUTH_SCHEMA_VERSIONS:
                ddl = resources.files("commands").joinpath(f"sql/auth_v{version}.sql").read_text()
                for statement in ddl.split(";"):
                    if statement.strip():
                        conn.execute(statement)  # type: ignore[call-overload]

    # --- signed tokens -------------------------------------------------------------

    def sign(self, kind: str, subject: str, ttl: timedelta, **claims: Any) -> tuple[str, str]:
        """A signed token of a kind (access, verify-email, invite); returns (token, jti)."""
        issued = self.clock()
        jti = uuid4().hex
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "typ": kind,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl,
            "jti": jti,
            "iat_ms": int(issued.timestamp() * 1000),  # revocation compares to the millisecond
            **claims,
        }
        return jwt.encode(payload, self.secret, algorithm=ALGORITHM, headers={"typ": "JWT"}), jti

    def verify(self, kind: str, token: str) -> dict[str, Any]:
        """The claims of a valid token of this kind, else InvalidTokenError."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
            )
        except jwt.InvalidTokenError as error:
            raise InvalidTokenError("invalid token") from error
        if claims.get("typ") != kind:
            raise InvalidTokenError("wrong kind of token")
        return claims

    def access_token(self, grant: AccessGrant) -> tuple[str, str]:
        return self.sign(
            "access",
            str(grant.user_id),
            ACCESS_TTL,
            hid=str(grant.household_id),
            hrole=grant.household_role,
            role=grant.role,
        )

    # --- refresh-token families ---------------------------------------------------

    def start_family(self, grant: AccessGrant) -> TokenPair:
        """A new login: a new family with its first refresh token."""
        family_id, issued = uuid4(), self.clock()
        refresh = secrets.token_urlsafe(32)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO auth.token_families (family_id, user_id, household_id, created_at, expires_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (family_id, grant.user_id, grant.household_id, issued, issued + REFRESH_FAMILY_TTL),
            )
            conn.execute(
                "INSERT INTO auth.refresh_tokens VALUES (%s, %s, %s, NULL)",
                (digest(refresh), family_id, issued),
            )
        return TokenPair(self.access_token(grant)[0], refresh, int(ACCESS_TTL.total_seconds()))

    def spend(self, refresh: str) -> tuple[UUID, UUID, UUID]:
        """Spend a refresh token: (family, user, household). A reused token revokes its family."""
        moment, reused = self.clock(), False
        with self.pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as curs:
            curs.execute(
                "SELECT t.family_id, t.used_at, f.user_id, f.household_id, f.expires_at, f.revoked_at"
                " FROM auth.refresh_tokens t JOIN auth.token_families f USING (family_id)"
                " WHERE t.token_hash = %s FOR UPDATE OF t, f",
                (digest(refresh),),
            )
            row = curs.fetchone()
            if row is None or row["revoked_at"] is not None or row["expires_at"] <= moment:
                raise InvalidTokenError("refresh token unknown, revoked or expired")
            if row["used_at"] is not None:
                reused = True
                self._revoke(curs, "family_id = %s", row["family_id"], "refresh token reused", moment)
            else:
                curs.execute(
                    "UPDATE auth.refresh_tokens SET used_at = %s WHERE token_hash = %s",
                    (moment, digest(refresh)),
                )
        if reused:
            raise RefreshReuseError(row["user_id"])
        return row["family_id"], row["user_id"], row["household_id"]

    def continue_family(self, family_id: UUID, grant: AccessGrant) -> TokenPair:
        """The next refresh token of a family (after ``spend``), with a fresh access token."""
        refresh, issued = secrets.token_urlsafe(32), self.clock()
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO auth.refresh_tokens VALUES (%s, %s, %s, NULL)",
                (digest(refresh), family_id, issued),
            )
        return TokenPair(self.access_token(grant)[0], refresh, int(ACCESS_TTL.total_seconds()))

    def revoke_family(self, refresh: str, user_id: UUID, reason: str) -> bool:
        """Logout: revoke the family of this refresh token if it is the user's own."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(
                "UPDATE auth.token_families f SET revoked_at = %s, revoked_reason = %s"
                " FROM auth.refresh_tokens t WHERE t.family_id = f.family_id AND t.token_hash = %s"
                " AND f.user_id = %s AND f.revoked_at IS NULL",
                (self.clock(), reason, digest(refresh), user_id),
            )
            return curs.rowcount == 1

    def revoke_user(self, user_id: UUID, reason: str, *, personal_tokens: bool = True) -> int:
        """Revoke every family of a user (password change, suspension, deletion) and, unless
        told otherwise, their personal access tokens."""
        moment = self.clock()
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as curs:
            if personal_tokens:
                curs.execute(
                    "UPDATE auth.personal_tokens SET revoked_at = %s"
                    " WHERE user_id = %s AND revoked_at IS NULL",
                    (moment, user_id),
                )
            return self._revoke(curs, "user_id = %s", user_id, reason, moment)

    @staticmethod
    def _revoke(curs: Any, where: str, value: UUID, reason: str, moment: datetime) -> int:
        curs.execute(
            f"UPDATE auth.token_families SET revoked_at = %s, revoked_reason = %s"  # noqa: S608 - fixed clauses
            f" WHERE {where} AND revoked_at IS NULL",
            (moment, reason, value),
        )
        return int(curs.rowcount)
