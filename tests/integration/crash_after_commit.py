"""Run by test_idempotency: record with an idempotency key, then die right after COMMIT,
before any answer could be sent (os._exit: no cleanup, no flush of anything)."""

from __future__ import annotations

import datetime as dt
import os
import sys
import uuid

from psycopg_pool import ConnectionPool

from commands.idempotency import IdempotencyStore
from commands.idempotency_key import IdempotencyKey
from commands.messages import RecordTransaction
from commands.write_path import Appended
from tests.integration.helpers import Books


def main(database: str, household: str, account: str, key: str) -> None:
    books = Books(database)
    store = IdempotencyStore(ConnectionPool(database, min_size=1, max_size=1))
    command = RecordTransaction(
        kind="income", account_id=uuid.UUID(account), amount="1.00", date=dt.date(2026, 11, 1)
    )
    body = b'{"amount":"1.00"}'
    idem = IdempotencyKey.of("user:household", key, "POST", "/api/v1/transactions", body)

    def record_then_die() -> Appended:
        books.transactions.record(uuid.UUID(household), command)
        os._exit(17)  # committed; the answer is lost

    store.run(idem, record_then_die)


if __name__ == "__main__":
    main(*sys.argv[1:5])
