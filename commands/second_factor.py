"""TOTP two-factor authentication (RFC 6238) with one-time recovery codes.

The TOTP secret and the hashes of the recovery codes live in ``auth.second_factors``
(deletable, unlike events); the User aggregate records that 2FA was enabled or disabled.
A code is accepted once: the last used time step is kept, so a replayed code fails.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from uuid import UUID

import pyotp
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ledger.errors import ConflictError, IllegalTransitionError

ISSUER = "FiscaFlow"
RECOVERY_CODES = 10
STEP_SECONDS = 30


def recovery_hash(code: str) -> bytes:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).digest()


def new_recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits each, used once
    return f"{raw[:5]}-{raw[5:]}"


class SecondFactors:
    """Enrolment, confirmation, verification and removal of a user's TOTP second factor."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def start(self, user_id: UUID, email: str) -> tuple[str, str]:
        """A new secret (not active until confirmed with a code); returns (secret, otpauth URI)."""
        secret = pyotp.random_base32()
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "SELECT enabled_at FROM auth.second_factors WHERE user_id = %s FOR UPDATE", (user_id,)
            ).fetchone()
            if row is not None and row[0] is not None:
                raise ConflictError("two-factor authentication is already on; disable it first")
            conn.execute(
                "INSERT INTO auth.second_factors (user_id, secret) VALUES (%s, %s)"
                " ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, last_step = 0",
                (user_id, secret),
            )
        return secret, pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)

    def confirm(self, user_id: UUID, code: str, at: float) -> list[str]:
        """Turn 2FA on with a first valid code; returns the recovery codes (shown once)."""
        codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
        with self.pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as curs:
            row = self._locked(curs, user_id)
            if row is None or row["enabled_at"] is not None:
                raise IllegalTransitionError("start enrolment first (POST /api/v1/users/2fa)")
            step = self._valid_step(row, code, at)
            if step is None:
                raise IllegalTransitionError("the code does not match; check the clock of your device")
            curs.execute(
                "UPDATE auth.second_factors SET enabled_at = now(), last_step = %s, recovery_hashes = %s"
                " WHERE user_id = %s",
                (step, [recovery_hash(c) for c in codes], user_id),
            )
        return codes

    def is_enabled(self, user_id: UUID) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT enabled_at FROM auth.second_factors WHERE user_id = %s", (user_id,)
            ).fetchone()
        return row is not None and row[0] is not None

    def check(self, user_id: UUID, code: str, at: float) -> bool:
        """True for a fresh TOTP code or an unused recovery code (which is then spent)."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as curs:
            row = self._locked(curs, user_id)
            if row is None or row["enabled_at"] is None:
                return False
            step = self._valid_step(row, code, at)
            if step is not None:
                curs.execute(
                    "UPDATE auth.second_factors SET last_step = %s WHERE user_id = %s", (step, user_id)
                )
                return True
            remaining = [
                h for h in row["recovery_hashes"] if not hmac.compare_digest(bytes(h), recovery_hash(code))
            ]
            if len(remaining) == len(row["recovery_hashes"]):
                return False
            curs.execute(
                "UPDATE auth.second_factors SET recovery_hashes = %s WHERE user_id = %s", (remaining, user_id)
            )
            return True

    def remove(self, user_id: UUID) -> None:
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM auth.second_factors WHERE user_id = %s", (user_id,))

    @staticmethod
    def _locked(curs: Any, user_id: UUID) -> dict[str, Any] | None:
        curs.execute("SELECT * FROM auth.second_factors WHERE user_id = %s FOR UPDATE", (user_id,))
        row: dict[str, Any] | None = curs.fetchone()
        return row

    @staticmethod
    def _valid_step(row: dict[str, Any], code: str, at: float) -> int | None:
        """The time step of a matching code (now, or one step either side), if not used before."""
        if not code.strip().isascii():
            return None  # compare_digest refuses non-ASCII text; no valid code has any
        totp = pyotp.TOTP(row["secret"])
        current = int(at // STEP_SECONDS)
        for step in (current, current - 1, current + 1):
            if step > row["last_step"] and hmac.compare_digest(totp.at(step * STEP_SECONDS), code.strip()):
                return step
        return None
