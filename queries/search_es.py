"""Transaction search on Elasticsearch (when ``ELASTICSEARCH_URL`` is set): the index
template, the document of a transaction, and the query of a search.

Elasticsearch finds and orders; PostgreSQL gives the rows (by id, for the same tenant and
viewer), so an answer has the same shape whichever backend found it. The words of ``q``
match as prefixes of the words of ``text`` (description, merchant, notes and category), all
of them, as in PostgreSQL (queries/search_terms.py). Documents live in a versioned index
behind the alias ``fiscaflow-transactions``: a reindex fills a new index and swaps the alias
in one step (projections/search_index.py).

A search with a consistency token waits (bounded, like the read models' wait in
queries/consistency.py, with the same errors) until the indexer's position in
``search.tracking`` reaches the token: the indexer records a position only once the
documents of the events up to it are searchable.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any
from uuid import UUID

from ledger.errors import InvalidInputError
from queries.consistency import POLL_SECONDS, ProjectionLagError, UnknownPositionError, head
from queries.db import ReadStore
from queries.search_terms import document_words, search_terms
from queries.transactions import MAX_PAGE, TransactionFilter, hidden_accounts, rows_by_ids
from queries.views import TransactionPage

ALIAS = "fiscaflow-transactions"
INDEXER = "elasticsearch"  # the indexer's row in search.tracking
DATE_ORDER = [{"date": "desc"}, {"recorded_at": "desc"}, {"transaction_id": "desc"}]


def index_template(alias: str = ALIAS) -> dict[str, Any]:
    """The template every ``<alias>-*`` index (``fiscaflow-transactions-*``) is made from."""
    keyword = {"type": "keyword"}
    return {
        "index_patterns": [f"{alias}-*"],
        "template": {
            "settings": {
                "number_of_shards": 1,
                "analysis": {"normalizer": {"lower": {"type": "custom", "filter": ["lowercase"]}}},
            },
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "household_id": keyword,
                    "transaction_id": keyword,
                    "account_ids": keyword,
                    "kind": keyword,
                    "status": keyword,
                    "currency": keyword,
                    "category": {"type": "keyword", "normalizer": "lower"},
                    "date": {"type": "date", "format": "strict_date"},
                    "recorded_at": {"type": "date_nanos"},
                    "amount": {"type": "scaled_float", "scaling_factor": 10000},
                    "text": {"type": "text", "analyzer": "standard"},
                },
            },
        },
    }


def document(row: dict[str, Any]) -> dict[str, Any]:
    """A read-model row as a search document."""
    words = document_words(row["description"], row["merchant"], row["notes"], row["category"])
    return {
        "household_id": str(row["household_id"]),
        "transaction_id": str(row["transaction_id"]),
        "account_ids": [str(a) for a in row["account_ids"]],
        "kind": row["kind"],
        "status": row["status"],
        "currency": row["currency"],
        "category": row["category"],
        "date": row["date"].isoformat(),
        "recorded_at": row["recorded_at"].isoformat(),
        "amount": str(row["amount"]),
        "text": " ".join(words),
    }


def filters_of(household_id: UUID, f: TransactionFilter, hidden: list[UUID]) -> dict[str, Any]:
    """The bool query of the list's filters (all combine) and the search words."""
    exact = {"account_ids": f.account_id, "category": f.category, "status": f.status, "kind": f.kind}
    clauses: list[dict[str, Any]] = [{"term": {"household_id": str(household_id)}}]
    clauses += [{"term": {field: str(value)}} for field, value in exact.items() if value is not None]
    dates = {k: v.isoformat() for k, v in (("gte", f.date_from), ("lte", f.date_to)) if v is not None}
    amounts = {k: str(v) for k, v in (("gte", f.min_amount), ("lte", f.max_amount)) if v is not None}
    clauses += [{"range": {"date": dates}}] if dates else []
    clauses += [{"range": {"amount": amounts}}] if amounts else []
    query: dict[str, Any] = {"filter": clauses}
    if f.text:
        query["must"] = [{"match_phrase_prefix": {"text": {"query": term}}} for term in search_terms(f.text)]
    if hidden:
        query["must_not"] = [{"terms": {"account_ids": [str(a) for a in hidden]}}]
    return {"bool": query}


def search_body(
    household_id: UUID, f: TransactionFilter, hidden: list[UUID], limit: int, cursor: str | None, order: str
) -> dict[str, Any]:
    """The request of one page: newest first, or the best matches first with ``relevance``."""
    body: dict[str, Any] = {
        "query": filters_of(household_id, f, hidden),
        "sort": ["_score", *DATE_ORDER] if order == "relevance" else DATE_ORDER,
        "size": limit + 1,
        "source": False,  # ids only: rows come from PostgreSQL
        "track_total_hits": False,
    }
    if cursor is not None:
        body["search_after"] = decode_cursor(cursor)
    return body


def encode_cursor(sort_values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort_values).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error):
        raise InvalidInputError("cursor is not one this API handed out") from None
    if not isinstance(values, list) or not 3 <= len(values) <= 4:
        raise InvalidInputError("cursor is not one this API handed out")
    return values


def indexed_position(store: ReadStore) -> int:
    """How far the Elasticsearch indexer has made events searchable (0 before it first ran)."""
    with store.cursor() as curs:
        curs.execute("SELECT to_regclass('search.tracking') IS NOT NULL AS present")
        row = curs.fetchone()
        if not row or not row["present"]:
            return 0
        curs.execute("SELECT position FROM search.tracking WHERE name = %s", (INDEXER,))
        row = curs.fetchone()
    return int(row["position"]) if row else 0


def wait_for_index(store: ReadStore, token: int | None, timeout: float) -> None:
    """Return once the index has caught up with ``token``; never waits without a token.
    A token beyond the event store's head is UnknownPositionError; an index still behind
    after ``timeout`` seconds is ProjectionLagError (as for the read models)."""
    if token is None or indexed_position(store) >= token:
        return
    if token > head(store):
        raise UnknownPositionError(f"consistency token {token} is beyond the event store's head")
    deadline = time.monotonic() + timeout
    while indexed_position(store) < token:
        if time.monotonic() >= deadline:
            raise ProjectionLagError(f"the search index has not reached position {token} yet")
        time.sleep(POLL_SECONDS)


class ElasticsearchSearch:
    """The search backend on Elasticsearch (ids and order), with rows from PostgreSQL."""

    def __init__(self, client: Any, reads: ReadStore, alias: str = ALIAS) -> None:
        self.client, self.reads, self.alias = client, reads, alias

    def wait_for(self, token: int | None, timeout: float) -> None:
        """The index lags the transactions read model: wait until it has ``token``."""
        wait_for_index(self.reads, token, timeout)

    def find(
        self,
        household_id: UUID,
        filters: TransactionFilter,
        limit: int,
        cursor: str | None,
        viewer: UUID | None,
        order: str = "date",
    ) -> TransactionPage:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}")
        if order == "relevance" and not filters.text:
            raise InvalidInputError("order=relevance ranks a search: give q")
        with self.reads.cursor() as curs:
            hidden = hidden_accounts(curs, household_id, viewer)
        body = search_body(household_id, filters, hidden, limit, cursor, order)
        hits = self.client.search(index=self.alias, **body)["hits"]["hits"]
        ids = [UUID(hit["_id"]) for hit in hits[:limit]]
        next_cursor = encode_cursor(hits[limit - 1]["sort"]) if len(hits) > limit else None
        return TransactionPage(
            items=rows_by_ids(self.reads, household_id, ids, viewer), next_cursor=next_cursor
        )
