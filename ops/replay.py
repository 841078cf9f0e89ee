"""Replay the event log into a fresh schema and compare it with the live read model.

Each projection is replayed from position 0 into ``read_NAME__replay`` by the projection's
own runner, inside one transaction that is rolled back at the end: nothing a replay writes
(its tables, a delivery row outside its schema) outlives it. The comparison runs while the
projection's advisory lock is held, so the live projector stands still meanwhile, and it
is made at the live model's own position:

- without ``to``: the replay goes up to wherever the live model is when the lock is taken;
- with ``to``: the live model must be at ``to``, or past it only by events this projection
  does not handle (its tables cannot have changed since). A live model behind ``to``, or
  ahead of it by events it handles, is not compared: the differences would be those events,
  not drift. The outcome then says why (``refused``).

Tables are compared row by row as JSON (``to_jsonb``), matched on their primary keys:
a row of the replay that the live table lacks is *missing*, a live row the replay lacks is
*extra*, a row whose key is in both with other values is *different*. Not compared: the
tracking table (positions), and outbox tables (the alert relay empties them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier
from psycopg.types.json import set_json_loads

from projections.base import EVENTS_TABLE, Projection
from projections.runner import APPLICATION_NAME, ProjectionRunner, connect, take_lock

NOT_COMPARED = frozenset({"tracking", "outbox"})
SHOWN = 10  # rows listed per kind of difference and table; all are counted


@dataclass
class TableDifference:
    table: str
    missing: list[dict[str, Any]] = field(default_factory=list)  # replayed, not in the live table
    extra: list[dict[str, Any]] = field(default_factory=list)  # live, not in the replay
    different: list[dict[str, Any]] = field(default_factory=list)  # key, columns: {name: [live, replayed]}

    @property
    def empty(self) -> bool:
        return not (self.missing or self.extra or self.different)


@dataclass
class Outcome:
    projection: str
    position: int  # the position the replay reached and the live model was compared at
    live_position: int
    refused: str | None = None
    tables: list[TableDifference] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return any(not t.empty for t in self.tables)


def log_end(conninfo: str) -> int:
    with connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(SQL(EVENTS_TABLE))
        ).fetchone()
    return int(row[0]) if row else 0


def live_position(curs: psycopg.Cursor[Any], schema: str) -> int | None:
    curs.execute("SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'tracking'", (schema,))
    if curs.fetchone() is None:
        return None
    curs.execute(
        SQL("SELECT notification_id FROM {} WHERE application_name = %s").format(
            Identifier(schema, "tracking")
        ),
        (APPLICATION_NAME,),
    )
    row = curs.fetchone()
    return int(row[0]) if row else 0


def handled_between(curs: psycopg.Cursor[Any], projection: type[Projection], after: int, upto: int) -> int:
    curs.execute(
        SQL(
            "SELECT count(*) FROM {} WHERE notification_id > %s AND notification_id <= %s AND topic = ANY(%s)"
        ).format(SQL(EVENTS_TABLE)),
        (after, upto, sorted(projection.topics())),
    )
    row = curs.fetchone()
    return int(row[0]) if row else 0


def why_not(
    curs: psycopg.Cursor[Any], projection: type[Projection], live: int | None, to: int | None
) -> str | None:
    """Why the live model cannot be compared with the log at ``to`` (None: it can)."""
    name = projection.name
    if live is None:
        return f"there is no live read model {name} (its projector never ran on this database)"
    if to is None or live == to:
        return None
    if live < to:
        return (
            f"the live read model {name} is at position {live}, behind {to}: its projector has not caught up"
        )
    later = handled_between(curs, projection, to, live)
    if later:
        return (
            f"the live read model {name} is at position {live}, ahead of {to} by {later} events it handles;"
            " omit --to to compare at its own position"
        )
    return None


def replay(
    projection: type[Projection], conninfo: str, to: int | None, progress: Callable[[int], None] | None = None
) -> Outcome:
    """Replay ``projection`` up to ``to`` (the live model's position when None) into a
    fresh schema, compare it with the live read model, and drop the replay."""
    live_schema, schema = projection.default_schema(), f"{projection.default_schema()}__replay"
    with connect(conninfo, autocommit=True) as conn, conn.cursor() as curs:
        start = live_position(curs, live_schema)
        refused = why_not(curs, projection, start, to)  # asked again under the lock
    if refused is not None:
        return Outcome(projection.name, to if to is not None else start or 0, start or 0, refused)
    drop(conninfo, schema)
    runner = ProjectionRunner(projection, conninfo, schema=schema, batch_size=2000, lock=False)
    try:
        with runner.conn.transaction(force_rollback=True):
            runner.catch_up(stop=to if to is not None else start or 0, progress=progress)
            with runner.conn.cursor() as curs:
                take_lock(curs, projection.name)  # the live projector waits until the rollback
                live = live_position(curs, live_schema)
                outcome = Outcome(projection.name, to if to is not None else live or 0, live or 0)
                outcome.refused = why_not(curs, projection, live, to)
                if outcome.refused is None:
                    while count := runner.apply_batch(curs, outcome.position):
                        if progress is not None:
                            progress(count)
                    outcome.tables = compare_schemas(curs, live_schema, schema)
    finally:
        runner.close()
        drop(conninfo, schema)
    return outcome


def drop(conninfo: str, schema: str) -> None:
    with connect(conninfo, autocommit=True) as conn:
        conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))


def compare_schemas(curs: psycopg.Cursor[Any], live: str, replayed: str) -> list[TableDifference]:
    curs.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (replayed,))
    tables = [r[0] for r in curs.fetchall() if r[0] not in NOT_COMPARED]
    return [compare_table(curs, live, replayed, table) for table in tables]


def primary_key(curs: psycopg.Cursor[Any], schema: str, table: str) -> list[str]:
    curs.execute(
        "SELECT a.attname FROM pg_index i"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = %s::regclass AND i.indisprimary"
        " ORDER BY array_position(i.indkey::int2[], a.attnum)",
        (Identifier(schema, table).as_string(curs),),
    )
    return [r[0] for r in curs.fetchall()]


ROWS_APART = """
SELECT 'live', r FROM (
    SELECT to_jsonb(t) AS r FROM {live} t EXCEPT ALL SELECT to_jsonb(t) FROM {replayed} t) a
UNION ALL
SELECT 'replayed', r FROM (
    SELECT to_jsonb(t) AS r FROM {replayed} t EXCEPT ALL SELECT to_jsonb(t) FROM {live} t) b
"""


def compare_table(curs: psycopg.Cursor[Any], live: str, replayed: str, table: str) -> TableDifference:
    found = TableDifference(table)
    curs.execute("SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s", (live, table))
    if curs.fetchone() is None:
        curs.execute(SQL("SELECT to_jsonb(t) FROM {} t").format(Identifier(replayed, table)))
        found.missing = [r[0] for r in curs.fetchall()]
        return found
    key = primary_key(curs, replayed, table)
    set_json_loads(lambda text: json.loads(text, parse_float=Decimal), curs)  # amounts stay exact
    curs.execute(SQL(ROWS_APART).format(live=Identifier(live, table), replayed=Identifier(replayed, table)))
    sides: dict[str, dict[Any, dict[str, Any]]] = {"live": {}, "replayed": {}}
    for side, row in curs.fetchall():
        sides[side][repr([row.get(k) for k in key] if key else row)] = row
    for name, row in sides["live"].items():
        other = sides["replayed"].pop(name, None)
        if other is None:
            found.extra.append(row)
        else:
            columns = {
                c: [row.get(c), other.get(c)]
                for c in sorted(set(row) | set(other))
                if row.get(c) != other.get(c)
            }
            found.different.append({"key": {k: row[k] for k in key}, "columns": columns})
    found.missing = list(sides["replayed"].values())
    return found
