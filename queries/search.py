"""Transaction search behind one interface, on PostgreSQL full-text search (the default)
or Elasticsearch (queries/search_es.py); both answer the list's page shape."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from queries.db import ReadStore
from queries.transactions import TransactionFilter, list_transactions
from queries.views import TransactionPage


class Search(Protocol):
    def find(
        self,
        household_id: UUID,
        filters: TransactionFilter,
        limit: int,
        cursor: str | None,
        viewer: UUID | None,
        order: str = "date",
    ) -> TransactionPage:
        """A page of the transactions that match ``filters`` (``filters.text``: the words
        searched for), newest first or, with ``order="relevance"``, best first."""

    def wait_for(self, token: int | None, timeout: float) -> None:
        """Return once a search shows every event up to ``token`` (the consistency token),
        waiting at most ``timeout`` seconds (queries.consistency's errors otherwise)."""


class PostgresSearch:
    """tsvector of description, merchant, notes and category; prefix terms; ts_rank."""

    def __init__(self, reads: ReadStore) -> None:
        self.reads = reads

    def wait_for(self, token: int | None, timeout: float) -> None:
        """Nothing to wait for: it searches the transactions read model, which the query
        has waited for already (api/consistency.py)."""

    def find(
        self,
        household_id: UUID,
        filters: TransactionFilter,
        limit: int,
        cursor: str | None,
        viewer: UUID | None,
        order: str = "date",
    ) -> TransactionPage:
        return list_transactions(self.reads, household_id, filters, limit, cursor, viewer, order)
