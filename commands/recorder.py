"""The event store's recorder: eventsourcing's PostgreSQL recorder plus append-only guards."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.errors import LockNotAvailable
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from commands import audit_chain, audit_context

RETENTION = timedelta(hours=24)  # keys older than this are forgotten
# The library's insert without its retry decorator (functools.wraps keeps it as __wrapped__).
SINGLE_ATTEMPT = PostgresApplicationRecorder.insert_events.__wrapped__  # type: ignore[attr-defined]
FORGET_PROBABILITY = 0.01

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event store is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
ROW_TRIGGER = """
CREATE OR REPLACE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {schema}.{table}
FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_event_change()
"""
TRUNCATE_TRIGGER = """
CREATE OR REPLACE TRIGGER {trigger} BEFORE TRUNCATE ON {schema}.{table}
FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_event_change()
"""


IDEMPOTENCY_TABLE = """
CREATE TABLE IF NOT EXISTS {schema}.idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    fingerprint bytea NOT NULL,
    subject_id uuid NOT NULL,
    subject_version int NOT NULL,
    originator_ids uuid[] NOT NULL,
    versions int[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
)
"""
IDEMPOTENCY_INDEX = """
CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON {schema}.idempotency_keys (created_at)
"""


class LedgerRecorder(PostgresApplicationRecorder):
    """Creates the events table with triggers that refuse UPDATE, DELETE and TRUNCATE, and
    records idempotency keys in the same transaction as the events they produced."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        schema = Identifier(self.datastore.schema)
        table = Identifier(self.events_table_name)
        self.sql_create_statements += [
            SQL(APPEND_ONLY_FUNCTION).format(schema=schema),  # type: ignore[arg-type]
            SQL(ROW_TRIGGER).format(  # type: ignore[arg-type]
                trigger=Identifier(f"{self.events_table_name}_append_only"),
                schema=schema,
                table=table,
            ),
            SQL(TRUNCATE_TRIGGER).format(  # type: ignore[arg-type]
                trigger=Identifier(f"{self.events_table_name}_no_truncate"),
                schema=schema,
                table=table,
            ),
            SQL(IDEMPOTENCY_TABLE).format(schema=schema),  # type: ignore[arg-type]
            SQL(IDEMPOTENCY_INDEX).format(schema=schema),  # type: ignore[arg-type]
            *(
                SQL(statement).format(  # type: ignore[arg-type]
                    schema=schema,
                    table=table,
                    trigger=Identifier(f"{self.events_table_name}_chain"),
                    append_only=Identifier(f"{self.events_table_name}_append_only"),
                )
                for statement in audit_chain.STATEMENTS
            ),
        ]
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(self.datastore.lock_timeout),
            SQL("SELECT {0}.lock_events()").format(schema),
        ]
        self.insert_key = SQL(
            "INSERT INTO {}.idempotency_keys (scope, key, fingerprint, subject_id, subject_version,"
            " originator_ids, versions) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        ).format(schema)
        self.forget_key = SQL(
            "DELETE FROM {}.idempotency_keys WHERE scope = %s AND key = %s AND created_at < now() - %s"
        ).format(schema)
        self.select_versions = SQL(
            "SELECT originator_id, max(originator_version) AS version FROM {}.{}"
            " WHERE originator_id = ANY(%s) GROUP BY originator_id"
        ).format(schema, table)
        self.forget_keys = SQL("DELETE FROM {}.idempotency_keys WHERE created_at < now() - %s").format(schema)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Fail fast when the events table's lock cannot be had within the lock timeout: the
        library would retry ten times; a waiting client should get 503 at once instead.
        Other operational errors (a dropped connection) keep the library's retries."""
        try:
            return SINGLE_ATTEMPT(self, stored_events, **kwargs)  # type: ignore[no-any-return]
        except OperationalError as error:
            if isinstance(error.__cause__, LockNotAvailable):
                raise
            return super().insert_events(stored_events, **kwargs)

    def check_unchanged(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], read: Mapping[UUID, int]
    ) -> None:
        """Under the events table's lock (appends are serial): the aggregates the command
        read but does not change are still at the versions it read (0: absent), or the
        whole append fails as a conflict and the command is tried again."""
        written = {e.originator_id for e in stored_events}
        ids = [aggregate_id for aggregate_id in read if aggregate_id not in written]
        if not ids:
            return
        # This hook runs before the library takes the lock for the insert: take it now (the
        # second time is a no-op), so no append can commit between this check and ours.
        self._lock_table(curs)
        curs.execute(self.select_versions, (ids,))
        now = {row["originator_id"]: row["version"] for row in curs.fetchall()}
        changed = [i for i in ids if now.get(i, 0) != read[i]]
        if changed:
            raise IntegrityError(
                f"{len(changed)} aggregates the command read changed meanwhile, e.g. {changed[0]}"
            )

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """Inside the append's transaction: say who and why (the events' ``metadata``
        column reads it), and take the request's idempotency key, if any. A concurrent
        duplicate then fails the whole append on the key's primary key."""
        super()._insert_events(curs, stored_events, **kwargs)
        self.check_unchanged(curs, stored_events, kwargs.get("depends_on") or {})
        if kwargs.get("within") is not None:
            kwargs["within"](curs)
        curs.execute("SELECT set_config('fiscaflow.audit', %s, true)", (audit_context.as_json(),))
        key = kwargs.get("idempotency")
        if key is None:
            return
        scope, name, fingerprint, subject_id, subject_version = key
        curs.execute(self.forget_key, (scope, name, RETENTION))  # an expired use of this key
        curs.execute(
            self.insert_key,
            (
                scope, name, fingerprint, subject_id, subject_version,
                [e.originator_id for e in stored_events], [e.originator_version for e in stored_events],
            ),
        )  # fmt: skip
        if random.random() < FORGET_PROBABILITY:  # noqa: S311 - housekeeping, not security
            curs.execute(self.forget_keys, (RETENTION,))
