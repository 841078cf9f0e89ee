"""The event store's recorder: eventsourcing's PostgreSQL recorder plus append-only guards."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier

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


class LedgerRecorder(PostgresApplicationRecorder):
    """Creates the events table with triggers that refuse UPDATE, DELETE and TRUNCATE."""

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
        ]
