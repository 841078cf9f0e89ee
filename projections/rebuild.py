"""Rebuild a read model from position 0 into a fresh schema, then swap it in atomically.

The live read model keeps serving (and its projector keeps running) during the rebuild.
The swap holds the projection's advisory lock, applies the last events, and renames the
schemas in one transaction; running projectors then continue on the new tables.
"""

from __future__ import annotations

from collections.abc import Callable

from psycopg.sql import SQL, Identifier

from projections.base import EVENTS_TABLE, Projection
from projections.runner import ProjectionRunner, connect, ensure_schema, take_lock

Progress = Callable[[int, int], None]


def rebuild(projection: type[Projection], conninfo: str, progress: Progress | None = None) -> int:
    """Rebuild ``projection``; return the number of events read."""
    live = projection.default_schema()
    fresh, old = f"{live}__next", f"{live}__old"
    with connect(conninfo, autocommit=True) as conn:
        conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(fresh)))
        row = conn.execute(
            SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(SQL(EVENTS_TABLE))
        ).fetchone()
        total = int(row[0]) if row else 0
    runner = ProjectionRunner(projection, conninfo, schema=fresh, batch_size=2000, lock=False)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, max(total, done))

    try:
        runner.catch_up(progress=advance)
        with runner.conn.transaction(), runner.conn.cursor() as curs:
            take_lock(curs, projection.name)
            while count := runner.apply_batch(curs):
                advance(count)
            curs.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(old)))
            curs.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (live,))
            if curs.fetchone():
                curs.execute(SQL("ALTER SCHEMA {} RENAME TO {}").format(Identifier(live), Identifier(old)))
            curs.execute(SQL("ALTER SCHEMA {} RENAME TO {}").format(Identifier(fresh), Identifier(live)))
            curs.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(old)))
    finally:
        runner.close()
    return done


def stored_schema_version(projection: type[Projection], conninfo: str) -> int | None:
    """The schema version the live read model was built with (None: not built yet)."""
    with connect(conninfo, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'tracking'",
            (projection.default_schema(),),
        ).fetchone()
        if not exists:
            return None
        row = conn.execute(
            SQL("SELECT max(schema_version) FROM {}").format(
                Identifier(projection.default_schema(), "tracking")
            )
        ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def prepare(projection: type[Projection], conninfo: str) -> bool:
    """Make the live read model ready to serve: created if missing, rebuilt if an older
    schema version built it (new columns need the old events). True when rebuilt."""
    stored = stored_schema_version(projection, conninfo)
    if stored is not None and stored < projection.schema_version:
        rebuild(projection, conninfo)
        return True
    with connect(conninfo) as conn:
        ensure_schema(conn, projection, projection.default_schema())
    return False
