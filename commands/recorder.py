"""The event store's recorder: eventsourcing's PostgreSQL recorder plus append-only guards."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.errors import LockNotAvailable
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier

from commands import audit_chain, audit_context
from commands.group_commit import MAX_EVENTS, GroupCommit, Request, lock_timeout

RETENTION = timedelta(hours=24)  # keys older than this are forgotten
ATTEMPTS, RETRY_WAIT = 10, 0.2  # an append after a dropped connection, as the library does
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

# The aggregates a command read (ids and versions, 0: absent) are still at those versions,
# checked by the server in the append's pipeline (no round trip under the lock). 23000:
# psycopg raises IntegrityError, which the write path answers as a conflict.
CHECK_VERSIONS_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.check_versions(ids uuid[], versions int[]) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    changed uuid;
BEGIN
    SELECT read.id INTO changed FROM unnest(ids, versions) AS read(id, version)
    WHERE coalesce((SELECT max(e.originator_version) FROM {schema}.{table} e
                    WHERE e.originator_id = read.id), 0) <> read.version
    LIMIT 1;
    IF changed IS NOT NULL THEN
        RAISE EXCEPTION 'aggregate % changed after the command read it', changed
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
END
$$
"""

# The whole append as one statement (its own transaction): what append_in_transaction does,
# without a transaction block or a pipeline, so the client sends one statement and reads
# one result. Used by every append that runs no ``within`` work of its own. The events come
# as four arrays, not as one array of the library's composite type: psycopg dumps a
# composite value in Python, field by field (1.5 ms of client CPU per 200 events). An
# earlier release's function (one array of the composite type) stays for processes not
# yet upgraded.
APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.append_events(
    event_ids uuid[], event_versions bigint[], event_topics text[], event_states bytea[],
    lock_timeout text, read_ids uuid[], read_versions int[],
    audit text, key_scope text, key_name text, key_fingerprint bytea, key_subject uuid,
    key_subject_version int, retention interval, forget_expired boolean
) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('lock_timeout', lock_timeout, true);
    PERFORM {schema}.lock_events();
    IF cardinality(read_ids) > 0 THEN
        PERFORM {schema}.check_versions(read_ids, read_versions);
    END IF;
    PERFORM set_config('fiscaflow.audit', audit, true);
    IF key_scope IS NOT NULL THEN
        DELETE FROM {schema}.idempotency_keys k
        WHERE k.scope = key_scope AND k.key = key_name AND k.created_at < now() - retention;
        INSERT INTO {schema}.idempotency_keys (scope, key, fingerprint, subject_id, subject_version,
                                               originator_ids, versions)
        VALUES (key_scope, key_name, key_fingerprint, key_subject, key_subject_version,
                event_ids, event_versions::int[]);
        IF forget_expired THEN
            DELETE FROM {schema}.idempotency_keys k WHERE k.created_at < now() - retention;
        END IF;
    END IF;
    NOTIFY {channel};
    RETURN QUERY
    INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state)
    SELECT * FROM unnest(event_ids, event_versions, event_topics, event_states)
    RETURNING t.notification_id;
END
$$
"""

# Several appends in one transaction (group commit, commands/group_commit.py): one hold of
# the lock, one commit. Each request is the same steps as append_events, in a block of its
# own (a subtransaction): a request whose check, key or insert is refused (class 23,
# integrity) is rolled back alone and answered as refused, the others are stored. The
# requests' events, reads and keys come flattened, with each request's count.
APPEND_GROUP_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.append_group(
    event_counts int[], event_ids uuid[], event_versions bigint[], event_topics text[],
    event_states bytea[], lock_timeout text, read_counts int[], read_ids uuid[], read_versions int[],
    audits text[], key_scopes text[], key_names text[], key_fingerprints bytea[],
    key_subjects uuid[], key_subject_versions int[], retention interval, forget_expired boolean
) RETURNS TABLE (request int, stored_at bigint, refused text) LANGUAGE plpgsql AS $$
DECLARE
    e int := 0;  -- events of the requests before this one
    r int := 0;  -- reads of the requests before this one
    positions bigint[];
BEGIN
    PERFORM set_config('lock_timeout', lock_timeout, true);
    PERFORM {schema}.lock_events();
    FOR i IN 1 .. cardinality(event_counts) LOOP
        BEGIN
            IF read_counts[i] > 0 THEN
                PERFORM {schema}.check_versions(read_ids[r + 1 : r + read_counts[i]],
                                                read_versions[r + 1 : r + read_counts[i]]);
            END IF;
            PERFORM set_config('fiscaflow.audit', audits[i], true);
            IF key_scopes[i] IS NOT NULL THEN
                DELETE FROM {schema}.idempotency_keys k
                WHERE k.scope = key_scopes[i] AND k.key = key_names[i] AND k.created_at < now() - retention;
                INSERT INTO {schema}.idempotency_keys (scope, key, fingerprint, subject_id,
                                                       subject_version, originator_ids, versions)
                VALUES (key_scopes[i], key_names[i], key_fingerprints[i], key_subjects[i],
                        key_subject_versions[i], event_ids[e + 1 : e + event_counts[i]],
                        event_versions[e + 1 : e + event_counts[i]]::int[]);
            END IF;
            WITH inserted AS (
                INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state)
                SELECT * FROM unnest(event_ids[e + 1 : e + event_counts[i]],
                                     event_versions[e + 1 : e + event_counts[i]],
                                     event_topics[e + 1 : e + event_counts[i]],
                                     event_states[e + 1 : e + event_counts[i]])
                RETURNING t.notification_id
            )
            SELECT array_agg(inserted.notification_id ORDER BY inserted.notification_id)
            INTO positions FROM inserted;
            RETURN QUERY SELECT i, unnest(positions), NULL::text;
        EXCEPTION WHEN integrity_constraint_violation THEN
            RETURN QUERY SELECT i, NULL::bigint, SQLERRM;
        END;
        e := e + event_counts[i];
        r := r + read_counts[i];
    END LOOP;
    IF forget_expired THEN
        DELETE FROM {schema}.idempotency_keys k WHERE k.created_at < now() - retention;
    END IF;
    NOTIFY {channel};
END
$$
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
            SQL(CHECK_VERSIONS_FUNCTION).format(schema=schema, table=table),  # type: ignore[arg-type]
            SQL(APPEND_FUNCTION).format(  # type: ignore[arg-type]
                schema=schema,
                table=table,
                channel=Identifier(self.channel_name),
            ),
            SQL(APPEND_GROUP_FUNCTION).format(  # type: ignore[arg-type]
                schema=schema,
                table=table,
                channel=Identifier(self.channel_name),
            ),
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
        self.check_versions = SQL("SELECT {}.check_versions(%s::uuid[], %s::int[])").format(schema)
        self.set_audit = SQL("SELECT set_config('fiscaflow.audit', %s, true)")
        # Rendered once: psycopg renders a composed statement on every execution, and only
        # caches the conversion of a statement given as bytes.
        # Arrays go in binary (%b): psycopg's text form of a bytea[] (hex, escaped, quoted) cost
        # 2 ms per 200 events, about a tenth of a bulk append's CPU; binary, 0.17 ms.
        append = "SELECT * FROM {}.append_events(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %s" + (
            ", %b::uuid[], %b::int[]" + ", %s" * 8 + ")"
        )
        self.append_statement = SQL(append).format(schema).as_bytes(None)
        group = SQL(
            "SELECT * FROM {}.append_group(%b::int[], %b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %s,"
            " %b::int[], %b::uuid[], %b::int[], %b::text[], %b::text[], %b::text[], %b::bytea[],"
            " %b::uuid[], %b::int[], %s, %s)"
        )
        self.group_statement = group.format(schema).as_bytes(None)
        self.grouping: GroupCommit | None = GroupCommit(self.store_group)  # None: every append alone
        self.selects: dict[tuple[bool, bool, bool, bool], bytes] = {}
        self.forget_keys = SQL("DELETE FROM {}.idempotency_keys WHERE created_at < now() - %s").format(schema)

    @retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=RETRY_WAIT)
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The library's select, with its statement rendered once per shape (every command
        loads aggregates: composing the statement each time was 2 % of a command's CPU)."""
        shape = (gt is not None, lte is not None, desc, limit is not None)
        statement = self.selects.get(shape)
        if statement is None:
            composed = SQL(
                "SELECT originator_id, originator_version, topic, state FROM {}.{} WHERE originator_id = %s"
            ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))  # not metadata
            composed += SQL(" AND originator_version > %s") if gt is not None else SQL("")
            composed += SQL(" AND originator_version <= %s") if lte is not None else SQL("")
            composed += SQL(
                " ORDER BY originator_version DESC" if desc else " ORDER BY originator_version ASC"
            )
            composed += SQL(" LIMIT %s") if limit is not None else SQL("")
            statement = self.selects[shape] = composed.as_bytes(None)
        params = [originator_id, *(v for v in (gt, lte, limit) if v is not None)]
        # Tuples in binary: no dict per row, no text bytea to unescape (about 20 % of a read).
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row, binary=True) as curs:
            curs.execute(statement, params, prepare=True)
            return [
                StoredEvent(originator_id=row[0], originator_version=row[1], topic=row[2], state=row[3])
                for row in curs.fetchall()
            ]

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Append in one round trip: with the other appends this process's threads ask for
        at the same moment (``grouping``, commands/group_commit.py, which stores a request alone
        when there are none), alone when it is bigger than a group (:meth:`store_one`), or in a
        transaction of its own when the command has work to do in it
        (:meth:`append_in_transaction`). A dropped connection is tried again, like the library
        does (10 attempts, 0.2 s apart); a lock timeout fails at once (a waiting client should
        get 503 now, not after ten attempts)."""
        if not stored_events:
            return []
        if kwargs.get("within") is not None:
            append = self.append_in_transaction
        else:
            grouping = self.grouping if len(stored_events) <= MAX_EVENTS else None
            store = grouping.submit if grouping is not None else self.store_one

            def append(stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
                return store(self.request(stored_events, **kwargs))  # a fresh request per attempt

        for attempt in range(1, ATTEMPTS + 1):
            try:
                return append(stored_events, **kwargs)
            except (InterfaceError, OperationalError) as error:
                if isinstance(error.__cause__, LockNotAvailable) or attempt == ATTEMPTS:
                    raise
                time.sleep(RETRY_WAIT)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def request(stored_events: Sequence[StoredEvent], **kwargs: Any) -> Request:
        """What :meth:`store_one` and :meth:`store_group` need of an append, taken in the
        thread of the command (the audit context is the command's)."""
        written = {e.originator_id for e in stored_events}
        read = {i: v for i, v in (kwargs.get("depends_on") or {}).items() if i not in written}
        return Request(stored_events, read, kwargs.get("idempotency"), audit_context.as_json())

    def store_one(self, request: Request) -> list[int]:
        """The append as one statement (``append_events``, see APPEND_FUNCTION): the same
        steps as :meth:`append_in_transaction`, with one statement to send and one result
        to read instead of eight (the client's CPU per command, not the lock, was the limit)."""
        events, read = request.events, request.read
        scope, name, fingerprint, subject_id, subject_version = request.key or (None,) * 5
        params = (
            [e.originator_id for e in events], [e.originator_version for e in events],
            [e.topic for e in events], [e.state for e in events],
            lock_timeout([request], self.datastore.lock_timeout), list(read), list(read.values()),
            request.audit, scope, name, fingerprint, subject_id, subject_version, RETENTION,
            random.random() < FORGET_PROBABILITY,  # noqa: S311 - housekeeping, not security
        )  # fmt: skip
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.append_statement, params, prepare=True)
            return [row["append_events"] for row in curs.fetchall()]

    def store_group(self, group: list[Request]) -> None:
        """Store the requests of a group (``append_group``, see APPEND_GROUP_FUNCTION) and
        give each its positions, or IntegrityError if it was refused (a read aggregate
        changed, a version or the idempotency key was taken: by another writer, or by an
        earlier request of the group). A dropped connection or a lock timeout fails every
        request. Any other error rolled the whole group back: each request is then stored
        alone and gets its own outcome."""
        if len(group) == 1:
            group[0].positions = self.store_one(group[0])
            return
        events = [e for request in group for e in request.events]
        keys = [request.key or (None,) * 5 for request in group]
        params = (
            [len(request.events) for request in group], [e.originator_id for e in events],
            [e.originator_version for e in events], [e.topic for e in events], [e.state for e in events],
            lock_timeout(group, self.datastore.lock_timeout), [len(request.read) for request in group],
            [i for request in group for i in request.read],
            [v for request in group for v in request.read.values()],
            [request.audit for request in group], *([key[field] for key in keys] for field in range(5)),
            RETENTION, random.random() < FORGET_PROBABILITY,  # noqa: S311 - housekeeping, not security
        )  # fmt: skip
        try:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(self.group_statement, params, prepare=True)
                rows = curs.fetchall()
        except (InterfaceError, OperationalError):
            raise
        except PersistenceError:
            for request in group:
                try:
                    request.positions = self.store_one(request)
                except Exception as error:
                    request.error = error
            return
        positions: list[list[int]] = [[] for _ in group]
        for row in rows:
            if row["refused"] is None:
                positions[row["request"] - 1].append(row["stored_at"])
            else:
                group[row["request"] - 1].error = IntegrityError(row["refused"])
        for request, stored in zip(group, positions, strict=True):
            if request.error is None:
                request.positions = stored

    def append_in_transaction(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        """One transaction sent as one pipeline and synchronised once: take the events
        table's lock (appends commit in position order), check that the aggregates the
        command read are unchanged, run ``within``, say who and why, take the idempotency
        key, insert, commit. The lock is held for the server's work and the commit's flush
        only: never while this process waits for its turn on the GIL between statements,
        which, with dozens of requests in flight, made holding it cost several ms.

        Raises IntegrityError when a read aggregate changed, an aggregate's version is
        taken, or the idempotency key is taken (all of it rolled back)."""
        error: Exception | None = None
        with self.datastore.get_connection() as conn:
            inserted = conn.cursor()
            try:
                with conn.pipeline(), conn.transaction():
                    with conn.cursor() as curs:
                        self._lock_table(curs)
                        self.check_unchanged(curs, stored_events, kwargs.get("depends_on") or {})
                        if kwargs.get("within") is not None:
                            kwargs["within"](curs)
                        curs.execute(self.set_audit, (audit_context.as_json(),))
                        self.take_key(curs, stored_events, kwargs.get("idempotency"))
                        self._notify_channel(curs)
                    try:
                        PostgresAggregateRecorder._insert_stored_events(self, inserted, stored_events)
                    except Exception as e:
                        error = e  # (psycopg warns about a pipeline left with an error inside)
                if error is not None:
                    raise error
                return [row["notification_id"] for row in inserted.fetchall()]
            finally:
                inserted.close()

    def check_unchanged(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], read: Mapping[UUID, int]
    ) -> None:
        """Under the events table's lock (appends are serial): the aggregates the command
        read but does not change are still at the versions it read (0: absent), or the
        server raises and the whole append fails as a conflict (the command is tried again)."""
        written = {e.originator_id for e in stored_events}
        ids = [aggregate_id for aggregate_id in read if aggregate_id not in written]
        if ids:
            curs.execute(self.check_versions, (ids, [read[i] for i in ids]))

    def take_key(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], key: Any) -> None:
        """The request's idempotency key, if any: a concurrent duplicate then fails the
        whole append on the key's primary key."""
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
