"""The tamper-evident event log: the SQL that chains every stored event to its aggregate's
previous one, stamps it with who and why, and keeps checkpoints of the global order.

Each event row gets ``recorded_at`` (the database's clock), ``metadata`` (JSON: actor,
household, correlation id, command, hashed client address; from the append's transaction
setting ``fiscaflow.audit``) and ``event_hash`` = SHA-256 of the previous version's hash
(32 zero bytes for version 1) and the length-prefixed id, version, topic, state, metadata
and recorded time (see ``event_hash`` in commands/audit.py, the independent recomputation).
A trigger computes it on INSERT, so every way into the table is chained. Checkpoints record,
for a range of positions, the ordered event hashes and a digest chained to the previous
checkpoint: they witness the global order, deletions and insertions.
"""

from __future__ import annotations

HASH_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.event_hash(
    prev bytea, id uuid, version bigint, topic text, state bytea, metadata text, recorded_at timestamptz
) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(
        prev || uuid_send(id) || int8send(version)
        || int4send(octet_length(convert_to(topic, 'UTF8'))) || convert_to(topic, 'UTF8')
        || int4send(octet_length(state)) || state
        || int4send(coalesce(octet_length(convert_to(metadata, 'UTF8')), -1))
        || coalesce(convert_to(metadata, 'UTF8'), ''::bytea)
        || int8send((extract(epoch FROM recorded_at) * 1000000)::bigint)
    )
$$
"""
COLUMNS = """
ALTER TABLE {schema}.{table}
    ADD COLUMN IF NOT EXISTS metadata text DEFAULT nullif(current_setting('fiscaflow.audit', true), ''),
    ADD COLUMN IF NOT EXISTS recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ADD COLUMN IF NOT EXISTS event_hash bytea
"""
CHAIN_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.chain_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev bytea;
BEGIN
    IF NEW.originator_version > 1 THEN
        SELECT e.event_hash INTO prev FROM {schema}.{table} e
        WHERE e.originator_id = NEW.originator_id AND e.originator_version = NEW.originator_version - 1;
    END IF;
    NEW.event_hash := {schema}.event_hash(
        coalesce(prev, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea),
        NEW.originator_id, NEW.originator_version, NEW.topic, NEW.state, NEW.metadata, NEW.recorded_at
    );
    RETURN NEW;
END
$$
"""
CHAIN_TRIGGER = """
CREATE OR REPLACE TRIGGER {trigger} BEFORE INSERT ON {schema}.{table}
FOR EACH ROW EXECUTE FUNCTION {schema}.chain_event()
"""
# Rows stored before the chain existed get their hashes once, version by version.
BACKFILL = """
DO $$
DECLARE
    v bigint := 1;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM {schema}.{table} WHERE event_hash IS NULL) THEN
        RETURN;
    END IF;
    ALTER TABLE {schema}.{table} DISABLE TRIGGER {append_only};
    LOOP
        UPDATE {schema}.{table} e SET event_hash = {schema}.event_hash(
            coalesce(
                (SELECT p.event_hash FROM {schema}.{table} p
                 WHERE p.originator_id = e.originator_id AND p.originator_version = e.originator_version - 1),
                '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea),
            e.originator_id, e.originator_version, e.topic, e.state, e.metadata, e.recorded_at)
        WHERE e.originator_version = v AND e.event_hash IS NULL;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM {schema}.{table} WHERE event_hash IS NULL);
        v := v + 1;
    END LOOP;
    ALTER TABLE {schema}.{table} ENABLE TRIGGER {append_only};
END
$$
"""
CHECKPOINTS = """
CREATE TABLE IF NOT EXISTS {schema}.checkpoints (
    checkpoint_id bigserial PRIMARY KEY,
    after_position bigint NOT NULL,
    up_to bigint NOT NULL,
    positions bigint[] NOT NULL,
    hashes bytea[] NOT NULL,
    digest bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
CHECKPOINTS_APPEND_ONLY = """
CREATE OR REPLACE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON {schema}.checkpoints
FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_event_change()
"""
CHECKPOINTS_NO_TRUNCATE = """
CREATE OR REPLACE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON {schema}.checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_event_change()
"""
# The append's lock (commit order = position order) without the UPDATE privilege that
# LOCK TABLE ... EXCLUSIVE would need: the owner's function takes it for the caller.
LOCK_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.lock_events() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog AS $$
BEGIN
    LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;
END
$$
"""
LOCK_FUNCTION_PRIVATE = "REVOKE ALL ON FUNCTION {schema}.lock_events() FROM PUBLIC"
STATEMENTS = (
    HASH_FUNCTION, COLUMNS, CHAIN_FUNCTION, CHAIN_TRIGGER, BACKFILL, CHECKPOINTS,
    CHECKPOINTS_APPEND_ONLY, CHECKPOINTS_NO_TRUNCATE, LOCK_FUNCTION, LOCK_FUNCTION_PRIVATE,
)  # fmt: skip

# What the role the application serves as may do with the event store: read and append,
# never change or remove (the owner that creates the tables is another role).
APP_ROLE_GRANTS = """
GRANT USAGE ON SCHEMA {schema} TO {role};
GRANT SELECT, INSERT ON {schema}.{table}, {schema}.checkpoints TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.idempotency_keys TO {role};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
GRANT EXECUTE ON FUNCTION {schema}.lock_events() TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.{table}, {schema}.checkpoints FROM {role};
GRANT USAGE ON SCHEMA keyvault TO {role};
GRANT SELECT, INSERT, DELETE ON keyvault.subject_keys TO {role};
GRANT SELECT, INSERT, UPDATE ON keyvault.erased_subjects TO {role}
"""
