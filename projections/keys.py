"""Read-only access to the subjects' keys, for projectors and audit queries that decode
events with personal data (see ledger.personal; the write side owns the keys)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from uuid import UUID

from psycopg import Connection, Cursor
from psycopg.rows import tuple_row


class KeyReader:
    """Reads keys over the caller's connections (a pool's, or one inside its transaction)."""

    def __init__(self, connection: Callable[[], AbstractContextManager[Connection[Any]]]) -> None:
        self.connection = connection
        self.vault = False  # whether keyvault.subject_keys exists (it appears with the first key)

    def writing_key(self, subject: UUID) -> tuple[UUID, bytes] | None:
        raise RuntimeError("a reader never stores personal data")

    def erased(self, subject: UUID) -> bool:
        with self.connection() as conn:
            curs = conn.cursor(row_factory=tuple_row)
            if not self._vault(curs):
                return False
            return (
                curs.execute(
                    "SELECT FROM keyvault.erased_subjects WHERE subject_id = %s", (subject,)
                ).fetchone()
                is not None
            )

    def _vault(self, curs: Cursor[tuple[Any, ...]]) -> bool:
        """Whether the key vault exists (it appears with the first key): never a failing
        statement in the caller's transaction."""
        if not self.vault:
            found = curs.execute("SELECT to_regclass('keyvault.erased_subjects') IS NOT NULL").fetchone()
            self.vault = bool(found and found[0])
        return self.vault

    def reading_key(self, key_id: UUID) -> tuple[bytes, UUID] | None:
        with self.connection() as conn:
            curs = conn.cursor(row_factory=tuple_row)
            if not self._vault(curs):
                return None
            row = curs.execute(
                "SELECT key, subject_id FROM keyvault.subject_keys WHERE key_id = %s", (key_id,)
            ).fetchone()
        return (bytes(row[0]), row[1]) if row else None


def over(conn: Connection[Any]) -> KeyReader:
    """A reader over one connection that stays open (a projector's)."""
    return KeyReader(lambda: nullcontext(conn))
