"""Personal access tokens: long-lived, scoped tokens for scripts and integrations.

A token is shown once (``ffpat_`` + 43 random characters); only its SHA-256 is stored.
Scopes: ``read`` (queries) and ``write`` (commands on household data). A personal token
never manages logins, users or households.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from psycopg.rows import dict_row

from commands.tokens import AccessGrant, TokenService, digest
from ledger.errors import InvalidInputError, NotFoundError
from ledger.text import check_text

PREFIX = "ffpat_"
SCOPES = frozenset({"read", "write"})
MAX_TOKENS_PER_USER = 50


@dataclass(frozen=True, slots=True)
class PersonalToken:
    id: UUID
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class PersonalGrant:
    grant: AccessGrant
    scopes: frozenset[str]
    token_id: UUID


class PersonalTokens:
    """Issues, lists, revokes and resolves personal access tokens (PostgreSQL, schema auth)."""

    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens
        self.pool = tokens.pool

    def issue(
        self, grant: AccessGrant, name: str, scopes: list[str], days: int
    ) -> tuple[UUID, str, datetime]:
        name = check_text("name", name, 100) or ""
        if not scopes or not set(scopes) <= SCOPES:
            raise InvalidInputError(f"scopes are a non-empty subset of {sorted(SCOPES)}")
        token, token_id, now = PREFIX + secrets.token_urlsafe(32), uuid4(), self.tokens.clock()
        expires = now + timedelta(days=days)
        with self.pool.connection() as conn, conn.transaction():
            count = conn.execute(
                "SELECT count(*) FROM auth.personal_tokens WHERE user_id = %s AND revoked_at IS NULL",
                (grant.user_id,),
            ).fetchone()
            if count and count[0] >= MAX_TOKENS_PER_USER:
                raise InvalidInputError(f"at most {MAX_TOKENS_PER_USER} active personal tokens")
            conn.execute(
                "INSERT INTO auth.personal_tokens (token_id, token_hash, user_id, household_id,"
                " household_role, role, name, scopes, created_at, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    token_id, digest(token), grant.user_id, grant.household_id, grant.household_role,
                    grant.role, name, sorted(set(scopes)), now, expires,
                ),
            )  # fmt: skip
        return token_id, token, expires

    def list(self, user_id: UUID) -> list[PersonalToken]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as curs:
            curs.execute(
                "SELECT token_id, name, scopes, created_at, expires_at, last_used_at, revoked_at"
                " FROM auth.personal_tokens WHERE user_id = %s ORDER BY created_at",
                (user_id,),
            )
            return [self._view(row) for row in curs.fetchall()]

    def revoke(self, user_id: UUID, token_id: UUID) -> None:
        with self.pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE auth.personal_tokens SET revoked_at = %s"
                " WHERE token_id = %s AND user_id = %s AND revoked_at IS NULL",
                (self.tokens.clock(), token_id, user_id),
            )
            if cursor.rowcount != 1:
                raise NotFoundError(f"no active personal token {token_id}")

    def resolve(self, token: str) -> PersonalGrant | None:
        """Who a presented personal token speaks for, if it is valid now."""
        if not token.startswith(PREFIX):
            return None
        now = self.tokens.clock()
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as curs:
            curs.execute(
                "UPDATE auth.personal_tokens SET last_used_at = %s WHERE token_hash = %s"
                " AND revoked_at IS NULL AND expires_at > %s"
                " RETURNING token_id, user_id, household_id, household_role, role, scopes",
                (now, digest(token), now),
            )
            row = curs.fetchone()
        if row is None:
            return None
        grant = AccessGrant(row["user_id"], row["household_id"], row["household_role"], row["role"])
        return PersonalGrant(grant, frozenset(row["scopes"]), row["token_id"])

    @staticmethod
    def _view(row: dict[str, Any]) -> PersonalToken:
        return PersonalToken(
            id=row["token_id"],
            name=row["name"],
            scopes=list(row["scopes"]),
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            last_used_at=row["last_used_at"],
            revoked=row["revoked_at"] is not None,
        )
