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

from psycopg import Cursor
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
    # Who was erased: plain personal fields stored before sealing existed read as erased,
    # and a person (not an address, which may find a new owner) gets no key again.
    """CREATE TABLE IF NOT EXISTS keyvault.erased_subjects (
        subject_id uuid PRIMARY KEY,
        person boolean NOT NULL,
        erased_at timestamptz NOT NULL DEFAULT now()
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

    def writing_key(self, subject: UUID) -> tuple[UUID, bytes] | None:
        select = "SELECT key_id, key FROM keyvault.subject_keys WHERE subject_id = %s"
        with self.pool.connection() as conn:
            curs = conn.cursor(row_factory=tuple_row)
            row = curs.execute(select, (subject,)).fetchone()
            if row is None:
                with conn.transaction():
                    curs.execute(
                        "INSERT INTO keyvault.subject_keys (key_id, subject_id, key)"
                        " SELECT %s, %s, %s WHERE NOT EXISTS (SELECT FROM keyvault.erased_subjects"
                        " WHERE subject_id = %s AND person) ON CONFLICT (subject_id) DO NOTHING",
                        (uuid4(), subject, os.urandom(32), subject),
                    )
                    row = curs.execute(select, (subject,)).fetchone()
        return (row[0], bytes(row[1])) if row else None  # None: an erased person

    def reading_key(self, key_id: UUID) -> tuple[bytes, UUID] | None:
        with self.pool.connection() as conn:
            row = (
                conn.cursor(row_factory=tuple_row)
                .execute("SELECT key, subject_id FROM keyvault.subject_keys WHERE key_id = %s", (key_id,))
                .fetchone()
            )
        return (bytes(row[0]), row[1]) if row else None

    def erased(self, subject: UUID) -> bool:
        with self.pool.connection() as conn:
            return (
                conn.execute(
                    "SELECT FROM keyvault.erased_subjects WHERE subject_id = %s", (subject,)
                ).fetchone()
                is not None
            )

    def erase(self, people: list[UUID], addresses: list[UUID]) -> int:
        """Delete the keys of people and addresses, remember them as erased (a person for
        good; an address may get a new key for a new owner); how many keys went."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as curs:
            return erase_in(curs, people, addresses)


def erase_in(curs: Cursor[Any], people: list[UUID], addresses: list[UUID]) -> int:
    """KeyRing.erase in the caller's transaction (e.g. the append recording ``Erased``)."""
    subjects = [*people, *addresses]
    for subject in subjects:
        curs.execute(
            "INSERT INTO keyvault.erased_subjects AS e (subject_id, person) VALUES (%s, %s)"
            " ON CONFLICT (subject_id) DO UPDATE SET person = excluded.person OR e.person",
            (subject, subject in people),
        )
    curs.execute("DELETE FROM keyvault.subject_keys WHERE subject_id = ANY(%s)", (subjects,))
    return curs.rowcount
