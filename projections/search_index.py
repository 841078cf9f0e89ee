"""The Elasticsearch indexer: a tracked follower that keeps the search index equal to the
transactions read model.

It follows the transactions read model (never ahead of that projection's position): for
the events between its own position and the read model's, it indexes the current rows of
the transactions they touched, each with the position of its latest event as an external
version. A category renamed or merged (CategoryBook events) changes the category of the
household's transactions in the read model without a transaction event: the indexer then
writes again the rows that now carry the new name, as the read model's ``_repoint`` does,
with the category event's position as their version. A replay after a crash writes
versions the index already has, which Elasticsearch refuses as harmless conflicts; a row
read ahead of its events is written again, with a higher version, when they come. Its
position is recorded in PostgreSQL after the bulk write succeeded and the index was
refreshed, so a recorded position is searchable (the consistency wait of a search,
queries/search_es.py, relies on it). ``reindex`` builds a fresh index from the read model
and swaps the alias in one step, so searches keep answering meanwhile; an advisory lock
keeps a round of the indexer from running across the swap.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

from elasticsearch import helpers
from eventsourcing.utils import get_topic

from ledger.categories import CategoryBook
from ledger.transcodings import event_mapper
from projections import keys
from projections.base import EVENTS_TABLE, NOTIFICATION_COLUMNS, notification
from projections.runner import connect
from queries.search_es import ALIAS, INDEXER, document, index_template

log = logging.getLogger("fiscaflow.search")
WINDOW = 5000  # events per round
SCHEMA = """
CREATE SCHEMA IF NOT EXISTS search;
CREATE TABLE IF NOT EXISTS search.tracking (name text PRIMARY KEY, position bigint NOT NULL);
INSERT INTO search.tracking VALUES ('elasticsearch', 0) ON CONFLICT DO NOTHING
"""
LOCK = "fiscaflow.search-indexer"  # one round or one alias swap at a time
TRANSACTION_EVENTS = (
    f"SELECT originator_id, max(notification_id) FROM {EVENTS_TABLE}"  # noqa: S608 - a constant
    " WHERE notification_id > %s AND notification_id <= %s"
    " AND topic LIKE 'ledger.transaction:Transaction.%%' GROUP BY originator_id"
)
CATEGORY_TOPICS = [get_topic(CategoryBook.Renamed), get_topic(CategoryBook.Merged)]
CATEGORY_EVENTS = (
    f"SELECT {NOTIFICATION_COLUMNS} FROM {EVENTS_TABLE}"  # noqa: S608 - constants
    " WHERE notification_id > %s AND notification_id <= %s AND topic = ANY(%s)"
    " ORDER BY notification_id"
)
# The rows a rename or merge repointed (projections/transactions: ``_repoint``), by the name
# they carry now.
IN_CATEGORY = (
    "SELECT transaction_id FROM read_transactions.transactions"
    " WHERE household_id = %s AND lower(category) = lower(%s)"
)


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


def repointed(event: Any) -> tuple[Any, str] | None:
    """The household and the category name its transactions now carry after a category
    event (None for an event that changes no transaction's category)."""
    if isinstance(event, CategoryBook.Renamed):
        return event.household_id, event.new
    if isinstance(event, CategoryBook.Merged):
        return event.household_id, event.into
    return None


def touched(conn: Any, start: int, target: int) -> dict[Any, int]:
    """The transactions whose documents the events in (start, target] changed, each with the
    position of the latest of those events: its own events, and the renames and merges of
    the category it now has."""
    versions: dict[Any, int] = dict(conn.execute(TRANSACTION_EVENTS, (start, target)).fetchall())
    category_events = conn.execute(CATEGORY_EVENTS, (start, target, CATEGORY_TOPICS)).fetchall()
    mapper = event_mapper(keys.over(conn)) if category_events else None
    for row in category_events:
        change = repointed(mapper.to_domain_event(notification(row))) if mapper else None
        if change is None:
            continue
        for (transaction_id,) in conn.execute(IN_CATEGORY, change).fetchall():
            versions[transaction_id] = max(versions.get(transaction_id, 0), row[0])
    return versions


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
        with connect(self.conninfo) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (LOCK,))
            start = tracked(conn)
            target = min(position(conn, MODEL_POSITION), start + WINDOW)
            if target <= start:
                return 0
            versions = touched(conn, start, target)
            rows = self._rows(conn, list(versions))
            if rows:
                self._bulk(self.alias, rows, versions)
                self.client.indices.refresh(index=self.alias)  # searchable before it is recorded
            track(conn, target)
        return len(rows)

    def _rows(self, conn: Any, ids: list[Any]) -> list[dict[str, Any]]:
        with conn.cursor() as curs:
            curs.execute(
                "SELECT * FROM read_transactions.transactions WHERE transaction_id = ANY(%s)", (ids,)
            )
            names = [c.name for c in curs.description]
            return [dict(zip(names, row, strict=True)) for row in curs.fetchall()]

    def _bulk(self, index: str, rows: list[dict[str, Any]], versions: dict[Any, int]) -> None:
        # Through the alias only: with the alias gone (a wiped index), a round fails rather
        # than create a stray index under the alias's name that a reindex could not swap in.
        options = {"require_alias": True} if index == self.alias else {}
        _, errors = helpers.bulk(self.client, actions(index, rows, versions), raise_on_error=False, **options)
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
        self.client.indices.refresh(index=fresh)
        with connect(self.conninfo, autocommit=True) as conn:
            # With no round in flight (the lock), the position goes back to what the new
            # index holds before it serves, so the position never claims more than the index
            # behind the alias has; the next rounds index again into it what the old one got
            # after ``since``.
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (LOCK,))
            try:
                track(conn, since)
                self._swap(fresh)
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (LOCK,))
        return count

    def _swap(self, fresh: str) -> None:
        indices = self.client.indices
        old = list(indices.get_alias(name=self.alias)) if indices.exists_alias(name=self.alias) else []
        moves = [{"remove": {"index": name, "alias": self.alias}} for name in old]
        indices.update_aliases(actions=[*moves, {"add": {"index": fresh, "alias": self.alias}}])
        for name in old:
            indices.delete(index=name)


MODEL_POSITION = "SELECT notification_id FROM read_transactions.tracking"


def tracked(conn: Any) -> int:
    """The indexer's position (search.tracking)."""
    row = conn.execute("SELECT position FROM search.tracking WHERE name = %s", (INDEXER,)).fetchone()
    return int(row[0]) if row else 0


def track(conn: Any, at: int) -> None:
    """Record the indexer's position."""
    conn.execute("UPDATE search.tracking SET position = %s WHERE name = %s", (at, INDEXER))


def position(conn: Any, query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def new_index_name(alias: str = ALIAS) -> str:
    return f"{alias}-{dt.datetime.now(dt.UTC).strftime('%Y%m%d%H%M%S%f')}"
