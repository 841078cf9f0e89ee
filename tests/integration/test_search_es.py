"""The Elasticsearch backend against a real server: it runs wherever ELASTICSEARCH_URL is
set. Without it the test fails under CI like any missing service, unless the machine
declares why it has none in FISCAFLOW_TEST_NO_ELASTICSEARCH (our CI machine does: no
Elasticsearch can run there); then it skips loudly with that reason. What is sent to the
server is unit-tested in tests/unit/test_search_building.py.

Shown here: the indexer follows the read model; a replay is a harmless version conflict;
search answers equal PostgreSQL's for the same filters; wiping the index and rebuilding it
converges; a reindex swaps the alias while searches keep answering."""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner
from queries.db import ReadStore
from queries.search import PostgresSearch
from queries.transactions import TransactionFilter
from tests.conftest import service_missing
from tests.integration.helpers import Books

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
URL = os.environ.get("ELASTICSEARCH_URL")
WORDS = ["coffee", "cocoa", "london", "market", "rent", "fuel", "gym", "gift", "taxi", "water"]


@pytest.fixture
def es() -> Iterator[tuple[Any, str]]:
    if not URL:
        service_missing(
            "ELASTICSEARCH_URL is not set (or set FISCAFLOW_TEST_NO_ELASTICSEARCH to the reason)",
            declared_by="FISCAFLOW_TEST_NO_ELASTICSEARCH",
        )
    from elasticsearch import Elasticsearch

    client = Elasticsearch(URL, request_timeout=30)
    alias = f"fiscaflow-test-{uuid.uuid4().hex[:8]}"
    try:
        yield client, alias
    finally:
        client.indices.delete(index=f"{alias}-*", ignore_unavailable=True)
        client.options(ignore_status=404).indices.delete_index_template(name=alias)
        client.close()


def history(database: str, count: int = 300) -> tuple[uuid.UUID, ReadStore]:
    rng = random.Random(7)
    books = Books(database)
    household = uuid.uuid4()
    account = books.open(household)
    for n in range(count):
        books.record(
            household, rng.choice(["expense", "income"]), account, f"{rng.randint(1, 90)}.00",
            description=" ".join(rng.sample(WORDS, 2)), date=dt.date(2026, 1, 1) + dt.timedelta(days=n % 200),
            category=rng.choice(["groceries", "transport", None]),
        )  # fmt: skip
    books.close()
    runner = ProjectionRunner(PROJECTIONS["transactions"], database)
    runner.catch_up()
    runner.close()
    reads = ReadStore(database, 2)
    reads.open()
    return household, reads


def all_ids(search: Any, household: uuid.UUID, f: TransactionFilter) -> list[uuid.UUID]:
    found, cursor = [], None
    while True:
        page = search.find(household, f, 17, cursor, None)
        found += [t.id for t in page.items]
        if (cursor := page.next_cursor) is None:
            return found


def test_the_index_follows_the_read_model_and_answers_like_postgres(
    database: str, es: tuple[Any, str]
) -> None:
    from projections.search_index import SearchIndexer
    from queries.search_es import ElasticsearchSearch

    client, alias = es
    household, reads = history(database)
    indexer = SearchIndexer(database, client, alias)
    while indexer.run_once():
        pass
    client.indices.refresh(index=alias)
    elastic, postgres = ElasticsearchSearch(client, reads, alias), PostgresSearch(reads)
    for f in (
        TransactionFilter(text="cof"),
        TransactionFilter(text="lon mark", kind="expense"),
        TransactionFilter(category="GROCERIES", min_amount=None, date_from=dt.date(2026, 3, 1)),
        TransactionFilter(text="zzz"),
    ):
        assert all_ids(elastic, household, f) == all_ids(postgres, household, f), f
    with psycopg.connect(database, autocommit=True) as conn:  # a replay: every write a conflict
        conn.execute("UPDATE search.tracking SET position = 0")
    while indexer.run_once():
        pass
    reads.close()


def test_wiping_the_index_and_rebuilding_converges_while_searches_answer(
    database: str, es: tuple[Any, str]
) -> None:
    from projections.search_index import SearchIndexer
    from queries.search_es import ElasticsearchSearch

    client, alias = es
    household, reads = history(database, 200)
    indexer = SearchIndexer(database, client, alias)
    while indexer.run_once():
        pass
    client.indices.refresh(index=alias)
    elastic = ElasticsearchSearch(client, reads, alias)
    before = all_ids(elastic, household, TransactionFilter(text="gym"))
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            try:
                elastic.find(household, TransactionFilter(text="gym"), 50, None, None)
            except BaseException as error:
                errors.append(error)

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    assert indexer.reindex(batch=50) == 200
    stop.set()
    searcher.join()
    client.indices.refresh(index=alias)
    assert errors == []
    assert all_ids(elastic, household, TransactionFilter(text="gym")) == before
    assert len(client.indices.get_alias(name=alias)) == 1
    reads.close()
