"""The subjects' keys for personal data in events (crypto-shredding), in PostgreSQL.

One AES-256-GCM key per subject (a user, or an invited address) in ``keyvault.subject_keys``,
outside the event store: the event log is immutable and exported for audits, the keys are
not. Erasing a person deletes their keys; their personal fields then read as ``[erased]``
everywhere (replays, projections, the audit API) while the events stay byte for byte what
they were, so positions, amounts and hashes still verify.

The mapper (ledger.personal.PersonalDataMapper) keeps keys in memory for a few seconds.
Back up this schema apart from the
event store, and expire its backups: a restored key un-erases.
"""

from __future__ import annotations

import os
from typing import Any
from uuid import UUID, uuid4

from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

SCHEMA_DDL = (
    "CREATE SCHEMA IF NOT EXISTS keyvault",
    """CREATE TABLE IF NOT EXISTS keyvault.subject_keys (
        key_id uuid PRIMARY KEY,
        subject_id uuid NOT NULL UNIQUE,
        key bytea NOT NULL CHECK (length(key) = 32),
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
)


class KeyRing:
    """Makes, reads and deletes subjects' keys (PersonalDataMapper keeps them in memory)."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def create_schema(self) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('fiscaflow.keyvault.schema'))")
            for statement in SCHEMA_DDL:
                conn.execute(statement)  # type: ignore[call-overload]

    def writing_key(self, subject: UUID) -> tuple[UUID, bytes]:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO keyvault.subject_keys (key_id, subject_id, key) VALUES (%s, %s, %s)"
                " ON CONFLICT (subject_id) DO NOTHING",
                (uuid4(), subject, os.urandom(32)),
            )
            row = (
                conn.cursor(row_factory=tuple_row)
                .execute("SELECT key_id, key FROM keyvault.subject_keys WHERE subject_id = %s", (subject,))
                .fetchone()
            )
        assert row is not None  # inserted or already there, in this transaction
        return row[0], bytes(row[1])

    def reading_key(self, key_id: UUID) -> tuple[bytes, UUID] | None:
        with self.pool.connection() as conn:
            row = (
                conn.cursor(row_factory=tuple_row)
                .execute("SELECT key, subject_id FROM keyvault.subject_keys WHERE key_id = %s", (key_id,))
                .fetchone()
            )
        return (bytes(row[0]), row[1]) if row else None

    def erase(self, subjects: list[UUID]) -> int:
        """Delete the subjects' keys; how many there were."""
        with self.pool.connection() as conn, conn.transaction():
            return conn.execute(
                "DELETE FROM keyvault.subject_keys WHERE subject_id = ANY(%s)", (subjects,)
            ).rowcount
