"""The read side's connection pool and the names of the read models' schemas."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg import Cursor
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ledger.transcodings import event_mapper
from projections.keys import KeyReader

ACCOUNTS_SCHEMA = "read_accounts"
TRANSACTIONS_SCHEMA = "read_transactions"
DIRECTORY_SCHEMA = "read_directory"
CATEGORIES_SCHEMA = "read_categories"
BUDGETS_SCHEMA = "read_budgets"
GOALS_SCHEMA = "read_goals"
SCHEDULES_SCHEMA = "read_schedules"
MONITORS_SCHEMA = "read_balance_monitors"
NOTIFICATIONS_SCHEMA = "read_notifications"
SETTLEMENT_SCHEMA = "read_settlement"


class ReadStore:
    """A pool of read-only transactions over the read models."""

    def __init__(self, conninfo: str, pool_size: int = 8) -> None:
        self.pool: ConnectionPool[Any] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"row_factory": dict_row, "autocommit": True},
            timeout=5.0,
        )
        self.mapper = event_mapper(KeyReader(self.pool.connection))  # decodes events for audits

    def open(self) -> None:
        self.pool.open(wait=True, timeout=30.0)

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def cursor(self) -> Iterator[Cursor[dict[str, Any]]]:
        with self.pool.connection() as conn, conn.cursor() as curs:
            yield curs
