"""The Elasticsearch indexer: a tracked follower that keeps the search index equal to the
transactions read model.

It follows the transactions read model (never ahead of that projection's position): for
the events between its own position and the read model's, it indexes the current rows of
the transactions they touched, each with the position of its latest event as an external
version. A replay after a crash writes versions the index already has, which Elasticsearch
refuses as harmless conflicts; a row read ahead of its events is written again, with a
higher version, when they come. Its position is recorded in PostgreSQL after the bulk
write succeeded. ``reindex`` builds a fresh index from the read model and swaps the alias
in one step, so searches keep answering meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

from elasticsearch import helpers

from projections.runner import connect
from queries.search_es import ALIAS, document, index_template

log = logging.getLogger("fiscaflow.search")
WINDOW = 5000  # events per round
SCHEMA = """
CREATE SCHEMA IF NOT EXISTS search;
CREATE TABLE IF NOT EXISTS search.tracking (name text PRIMARY KEY, position bigint NOT NULL);
INSERT INTO search.tracking VALUES ('elasticsearch', 0) ON CONFLICT DO NOTHING
"""


def actions(index: str, rows: list[dict[str, Any]], versions: dict[Any, int]) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield {
            "_op_type": "index",
            "_index": index,
            "_id": str(row["transaction_id"]),
            "version": versions[row["transaction_id"]],
            "version_type": "external",
            "_source": document(row),
        }


def failures(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bulk errors other than version conflicts (which a replay is expected to meet)."""
    return [e for e in errors if next(iter(e.values())).get("status") != 409]


class SearchIndexer:
    def __init__(self, conninfo: str, client: Any, alias: str = ALIAS) -> None:
        self.conninfo, self.client, self.alias = conninfo, client, alias
        with connect(conninfo, autocommit=True) as conn:
            for statement in SCHEMA.split(";"):
                conn.execute(statement)  # type: ignore[call-overload]
        self.ensure_index()

    def ensure_index(self) -> None:
        self.client.indices.put_index_template(name=self.alias, **index_template(self.alias))
        if not self.client.indices.exists_alias(name=self.alias):
            self.client.indices.create(index=new_index_name(self.alias), aliases={self.alias: {}})

    def run_once(self) -> int:
        """Index what the read model has gained since the last round; how many rows."""
        with connect(self.conninfo, autocommit=True) as conn:
            start = position(conn, "SELECT position FROM search.tracking WHERE name = 'elasticsearch'")
            target = min(position(conn, MODEL_POSITION), start + WINDOW)
            if target <= start:
                return 0
            touched = conn.execute(
                "SELECT originator_id, max(notification_id) FROM eventstore.fiscaflow_events"
                " WHERE notification_id > %s AND notification_id <= %s"
                " AND topic LIKE 'ledger.transaction:Transaction.%%' GROUP BY originator_id",
                (start, target),
            ).fetchall()
            versions = dict(touched)
            rows = self._rows(conn, list(versions))
            self._bulk(self.alias, rows, versions)
            conn.execute("UPDATE search.tracking SET position = %s WHERE name = 'elasticsearch'", (target,))
        return len(rows)

    def _rows(self, conn: Any, ids: list[Any]) -> list[dict[str, Any]]:
        with conn.cursor() as curs:
            curs.execute(
                "SELECT * FROM read_transactions.transactions WHERE transaction_id = ANY(%s)", (ids,)
            )
            names = [c.name for c in curs.description]
            return [dict(zip(names, row, strict=True)) for row in curs.fetchall()]

    def _bulk(self, index: str, rows: list[dict[str, Any]], versions: dict[Any, int]) -> None:
        _, errors = helpers.bulk(self.client, actions(index, rows, versions), raise_on_error=False)
        failed = failures(errors) if isinstance(errors, list) else []
        if failed:
            raise RuntimeError(f"{len(failed)} documents were not indexed, e.g. {failed[0]}")

    def reindex(self, batch: int = 2000, progress: Callable[[int], None] | None = None) -> int:
        """Build a new index from the read model and swap the alias to it atomically."""
        fresh = new_index_name(self.alias)
        self.client.indices.create(index=fresh)
        count = 0
        with connect(self.conninfo) as conn, conn.transaction():
            since = position(conn, MODEL_POSITION)  # every row is at least this new
            with conn.cursor(name="reindex") as curs:  # server-side: constant memory
                curs.execute("SELECT * FROM read_transactions.transactions")
                names = [c.name for c in curs.description or []]
                while chunk := curs.fetchmany(batch):
                    rows = [dict(zip(names, row, strict=True)) for row in chunk]
                    self._bulk(fresh, rows, {r["transaction_id"]: since for r in rows})
                    count += len(rows)
                    if progress is not None:
                        progress(len(rows))
        self._swap(fresh)
        # After the swap: what the old index got meanwhile is indexed again into the new one.
        with connect(self.conninfo, autocommit=True) as conn:
            conn.execute("UPDATE search.tracking SET position = %s WHERE name = 'elasticsearch'", (since,))
        return count

    def _swap(self, fresh: str) -> None:
        indices = self.client.indices
        old = list(indices.get_alias(name=self.alias)) if indices.exists_alias(name=self.alias) else []
        moves = [{"remove": {"index": name, "alias": self.alias}} for name in old]
        indices.update_aliases(actions=[*moves, {"add": {"index": fresh, "alias": self.alias}}])
        for name in old:
            indices.delete(index=name)


MODEL_POSITION = "SELECT notification_id FROM read_transactions.tracking"


def position(conn: Any, query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def new_index_name(alias: str = ALIAS) -> str:
    return f"{alias}-{dt.datetime.now(dt.UTC).strftime('%Y%m%d%H%M%S%f')}"
