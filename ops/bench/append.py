"""Workload: appending events through the application against raw INSERT and COPY of the
same rows, in transactions of the same sizes, into a plain table with the same indexes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg

from ops.bench.measure import Steps
from ops.bench.results import Line, Target, WorkloadResult
from ops.bench.seed import Household
from ops.bench.sizes import Sizes

PER_APPEND = 100  # transactions per append (each also posts to its account: ~200 events)
COLUMNS = "originator_id, originator_version, topic, state"
COPY_RAW = f"COPY bench_raw.copied ({COLUMNS}) FROM STDIN"
RAW_TABLE = """
CREATE TABLE bench_raw.{name} (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text NOT NULL,
    state bytea NOT NULL,
    notification_id bigserial,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (originator_id, originator_version)
);
CREATE UNIQUE INDEX ON bench_raw.{name} (notification_id)
"""


def chunks(rows: list[Any], sizes: list[int]) -> Iterator[list[Any]]:
    start = 0
    for size in sizes:
        yield rows[start : start + size]
        start += size


def raw_insert(conn: psycopg.Connection[Any], rows: list[Any], sizes: list[int]) -> float:
    conn.execute(RAW_TABLE.format(name="inserted"))
    conn.commit()
    began = time.perf_counter()
    for chunk in chunks(rows, sizes):
        with conn.transaction(), conn.cursor() as curs:
            curs.executemany(
                f"INSERT INTO bench_raw.inserted ({COLUMNS}) VALUES (%s, %s, %s, %s)",  # noqa: S608
                chunk,
            )
    return len(rows) / (time.perf_counter() - began)


def raw_copy(conn: psycopg.Connection[Any], rows: list[Any], sizes: list[int]) -> float:
    conn.execute(RAW_TABLE.format(name="copied"))
    conn.commit()
    began = time.perf_counter()
    for chunk in chunks(rows, sizes):
        with conn.transaction(), conn.cursor() as curs, curs.copy(COPY_RAW) as copy:
            for row in chunk:
                copy.write_row(row)
    return len(rows) / (time.perf_counter() - began)


def run(conninfo: str, sizes: Sizes, steps: Steps, env: dict[str, int]) -> WorkloadResult:
    result = WorkloadResult("append", "Event append: application vs raw INSERT and COPY")
    household = Household(conninfo, **env)
    accounts = household.open(8)
    with psycopg.connect(conninfo) as conn:
        start = conn.execute("SELECT coalesce(max(notification_id), 0) FROM eventstore.fiscaflow_events")
        after = start.fetchone()[0]  # type: ignore[index]
    with steps.step("append: record_many through the application", sizes.append_transactions) as advance:
        began = time.perf_counter()
        appends = household.record(accounts, sizes.append_transactions, PER_APPEND, advance)
        app_rate = sum(appends) / (time.perf_counter() - began)
    household.close()
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM eventstore.fiscaflow_events"  # noqa: S608
            " WHERE notification_id > %s ORDER BY notification_id",
            (after,),
        ).fetchall()
        conn.execute("CREATE SCHEMA bench_raw")
        with steps.step("append: raw INSERT and COPY of the same rows"):
            insert_rate = raw_insert(conn, rows, appends)
            copy_rate = raw_copy(conn, rows, appends)
    result.lines = [
        Line(
            "application append", app_rate, "events/s", "raw INSERT", insert_rate, Target(">=", 0.5, "ratio")
        ),
        Line("raw INSERT (executemany)", insert_rate, "events/s", "COPY", copy_rate),
    ]
    result.details = {
        "events": len(rows),
        "appends": len(appends),
        "transactions_per_append": PER_APPEND,
        "events_per_append_mean": round(len(rows) / max(1, len(appends)), 1),
        "copy_events_per_second": copy_rate,
    }
    result.notes.append(
        f"{len(rows):,} events in {len(appends):,} appends of {PER_APPEND} transactions; raw INSERT "
        "and COPY write the same rows in transactions of the same sizes into a table with the same "
        "two unique indexes but no hash-chain trigger and no table lock."
    )
    return result
