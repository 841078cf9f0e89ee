"""What the hash chain costs an append: records the same incomes, one at a time on one
connection, into a fresh database with the chain trigger and into one without it, and
prints records per second for each (run from the repository root):

    python -m ops.load.chain_cost [RECORDS] [ROUNDS]

It uses the local PostgreSQL of the tests (FISCAFLOW_TEST_DATABASE_URL)."""

from __future__ import annotations

import sys
import time
import uuid

import psycopg

from tests.conftest import create_database, drop_database
from tests.integration.helpers import Books


def records_per_second(records: int, chained: bool) -> float:
    database = create_database()
    try:
        books = Books(database)
        household = uuid.uuid4()
        accounts = [books.open(household, f"A{n}") for n in range(8)]
        if not chained:
            with psycopg.connect(database, autocommit=True) as conn:
                conn.execute("DROP TRIGGER fiscaflow_events_chain ON eventstore.fiscaflow_events")
        started = time.perf_counter()
        for n in range(records):
            books.record(household, "income", accounts[n % 8], "1.00")
        elapsed = time.perf_counter() - started
        books.close()
        return records / elapsed
    finally:
        drop_database(database)


def main() -> None:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    for _ in range(rounds):
        chained, plain = records_per_second(records, True), records_per_second(records, False)
        print(
            f"with the chain {chained:.0f} records/s, without {plain:.0f} records/s ({chained / plain:.2f})"
        )


if __name__ == "__main__":
    main()
