"""The Elasticsearch backend against a real server: it runs wherever ELASTICSEARCH_URL is
set. Without it the test fails under CI like any missing service, unless the machine
declares why it has none in FISCAFLOW_TEST_NO_ELASTICSEARCH (our CI machine does: no
Elasticsearch can run there); then these tests (marker ``elasticsearch``) are deselected,
and the session's summary says so with that reason. What is sent to the
server is unit-tested in tests/unit/test_search_building.py, and the PostgreSQL side (the
consistency wait on search.tracking, the documents a category change selects) in
tests/integration/test_search_tracking.py.

Shown here: the indexer follows the read model with the event position as external version,
and a replay is a harmless version conflict; its answers equal the PostgreSQL backend's; a
category rename or merge reaches the index; a search with a write's consistency token shows
the write; deleting the index and rebuilding it (reindex, alias swap) gives the PostgreSQL
backend's answers again; a reindex swaps the alias while searches keep answering and the
indexer keeps following. The indexer refreshes the index itself: no test refreshes it."""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from commands.messages import MergeCategory, RecordTransaction, RenameCategory
from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner
from queries.db import ReadStore
from queries.search import PostgresSearch
from queries.transactions import TransactionFilter
from tests.conftest import service_missing
from tests.integration.helpers import Books

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.elasticsearch]
URL = os.environ.get("ELASTICSEARCH_URL")
WORDS = ["coffee", "cocoa", "london", "market", "rent", "fuel", "gym", "gift", "taxi", "water"]
START = dt.date(2026, 1, 1)
# Filters whose answers both backends order the same way (newest first: date, time recorded, id).
QUERIES = [
    TransactionFilter(),
    TransactionFilter(text="cof"),
    TransactionFilter(text="lon mark", kind="expense"),
    TransactionFilter(category="GROCERIES", date_from=dt.date(2026, 3, 1)),
    TransactionFilter(text="gym", min_amount=Decimal("20"), max_amount=Decimal("60")),
    TransactionFilter(text="ta", date_to=dt.date(2026, 4, 30)),
    TransactionFilter(kind="income", text="w"),
    TransactionFilter(text="transport"),
    TransactionFilter(text="zzz"),
]
RANKED = [TransactionFilter(text="coffee lon"), TransactionFilter(text="g")]  # best first: sets compared


@pytest.fixture
def es() -> Iterator[tuple[Any, str]]:
    if not URL:
        service_missing(
            "ELASTICSEARCH_URL is not set (a machine that cannot have Elasticsearch says why in "
            "FISCAFLOW_TEST_NO_ELASTICSEARCH, which deselects these tests)"
        )
    from elasticsearch import Elasticsearch

    client = Elasticsearch(URL, request_timeout=30)
    alias = f"fiscaflow-test-{uuid.uuid4().hex[:8]}"
    try:
        yield client, alias
    finally:
        if names := indices_of(client, alias):
            client.indices.delete(index=names)
        client.options(ignore_status=404).indices.delete_index_template(name=alias)
        client.close()


def indices_of(client: Any, alias: str) -> list[str]:
    """The test's indices by name (deleting by a wildcard is refused by default since 8.0:
    action.destructive_requires_name)."""
    return list(client.indices.get(index=f"{alias}-*"))


def record(books: Books, household: uuid.UUID, account: uuid.UUID, rng: random.Random, n: int) -> uuid.UUID:
    return books.record(
        household, rng.choice(["expense", "income"]), account, f"{rng.randint(1, 90)}.00",
        description=" ".join(rng.sample(WORDS, 2)), date=START + dt.timedelta(days=n % 200),
        category=rng.choice(["groceries", "transport", "coffee", None]),
    )  # fmt: skip


def project(database: str) -> None:
    runner = ProjectionRunner(PROJECTIONS["transactions"], database)
    runner.catch_up()
    runner.close()


def history(database: str, count: int = 300) -> tuple[uuid.UUID, uuid.UUID, ReadStore]:
    """``count`` transactions of one household (and a few of another), in the read model."""
    rng = random.Random(7)
    books = Books(database)
    household, stranger = uuid.uuid4(), uuid.uuid4()
    account, other = books.open(household), books.open(stranger)
    for n in range(count):
        record(books, household, account, rng, n)
    for n in range(10):  # another tenant's: never in the answers
        record(books, stranger, other, rng, n)
    books.close()
    project(database)
    reads = ReadStore(database, 2)
    reads.open()
    return household, account, reads


def catch_up(indexer: Any) -> None:
    while indexer.run_once():
        pass


def all_ids(search: Any, household: uuid.UUID, f: TransactionFilter, order: str = "date") -> list[uuid.UUID]:
    found, cursor = [], None
    while True:
        page = search.find(household, f, 17, cursor, None, order)
        found += [t.id for t in page.items]
        if (cursor := page.next_cursor) is None:
            return found


def assert_same_answers(elastic: Any, postgres: Any, household: uuid.UUID) -> None:
    for f in QUERIES:
        assert all_ids(elastic, household, f) == all_ids(postgres, household, f), f
    for f in RANKED:
        ranked = all_ids(elastic, household, f, "relevance")
        assert len(ranked) == len(set(ranked)), f  # no page overlaps another
        assert set(ranked) == set(all_ids(postgres, household, f, "relevance")), f


def latest_positions(database: str) -> dict[str, int]:
    """Each transaction's latest event position: the version its document must have."""
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT originator_id, max(notification_id) FROM eventstore.fiscaflow_events"
            " WHERE topic LIKE 'ledger.transaction:Transaction.%%' GROUP BY originator_id"
        ).fetchall()
    return {str(tid): int(at) for tid, at in rows}


def versions(client: Any, alias: str) -> dict[str, int]:
    hits = client.search(index=alias, query={"match_all": {}}, size=10000, version=True)["hits"]["hits"]
    return {hit["_id"]: hit["_version"] for hit in hits}


def test_the_index_follows_the_read_model_and_answers_like_postgres(
    database: str, es: tuple[Any, str]
) -> None:
    from projections.search_index import SearchIndexer
    from queries.search_es import ElasticsearchSearch

    client, alias = es
    household, _, reads = history(database)
    indexer = SearchIndexer(database, client, alias)
    catch_up(indexer)
    elastic, postgres = ElasticsearchSearch(client, reads, alias), PostgresSearch(reads)
    assert_same_answers(elastic, postgres, household)
    assert versions(client, alias) == latest_positions(database)  # external version = position
    with psycopg.connect(database, autocommit=True) as conn:  # a replay: every write a conflict
        conn.execute("UPDATE search.tracking SET position = 0")
    catch_up(indexer)  # raises if anything but a version conflict failed
    assert versions(client, alias) == latest_positions(database)
    assert_same_answers(elastic, postgres, household)
    reads.close()


def test_a_category_rename_or_merge_reaches_the_index(database: str, es: tuple[Any, str]) -> None:
    from projections.search_index import SearchIndexer
    from queries.search_es import ElasticsearchSearch

    client, alias = es
    household, _, reads = history(database, 200)
    indexer = SearchIndexer(database, client, alias)
    catch_up(indexer)
    books = Books(database)
    renamed = books.categories.rename(household, "groceries", RenameCategory(name="Market Stall"))
    merged = books.categories.merge(household, "coffee", MergeCategory(into="restaurants"))
    books.close()
    project(database)
    catch_up(indexer)
    elastic, postgres = ElasticsearchSearch(client, reads, alias), PostgresSearch(reads)
    assert_same_answers(elastic, postgres, household)
    for f in (
        TransactionFilter(category="market stall"),
        TransactionFilter(text="stall"),
        TransactionFilter(category="restaurants"),
        TransactionFilter(text="restaur"),
    ):
        found = all_ids(elastic, household, f)
        assert found and found == all_ids(postgres, household, f), f
    for f in (TransactionFilter(category="groceries"), TransactionFilter(category="coffee")):
        assert all_ids(elastic, household, f) == [] == all_ids(postgres, household, f), f
    indexed = versions(client, alias)  # the category event's position: the documents' version
    moved = all_ids(postgres, household, TransactionFilter(category="market stall"))
    assert {indexed[str(t)] for t in moved} == {renamed.position}
    moved = all_ids(postgres, household, TransactionFilter(category="restaurants"))
    assert {indexed[str(t)] for t in moved} == {merged.position}
    reads.close()


def test_a_search_with_the_token_of_a_write_shows_it(database: str, es: tuple[Any, str]) -> None:
    from projections.search_index import SearchIndexer
    from queries.consistency import ProjectionLagError
    from queries.search_es import ElasticsearchSearch

    client, alias = es
    household, account, reads = history(database, 50)
    indexer = SearchIndexer(database, client, alias)
    catch_up(indexer)
    elastic = ElasticsearchSearch(client, reads, alias)
    books = Books(database)
    written = books.transactions.record(
        household,
        RecordTransaction(
            kind="expense", account_id=account, amount="7.00", date=START, description="zebra crossing"
        ),
    )
    books.close()
    project(database)  # the read model has it, the index not yet
    with pytest.raises(ProjectionLagError):
        elastic.wait_for(written.position, 0.2)
    indexing = threading.Timer(0.3, lambda: catch_up(indexer))
    indexing.start()
    try:
        elastic.wait_for(written.position, 30.0)
        assert [
            t.id for t in elastic.find(household, TransactionFilter(text="zebra"), 5, None, None).items
        ] == [written.id]
    finally:
        indexing.join()
    reads.close()


def test_deleting_the_index_and_rebuilding_it_gives_the_postgres_answers(
    database: str, es: tuple[Any, str]
) -> None:
    from projections.search_index import SearchIndexer
    from queries.search_es import ElasticsearchSearch

    client, alias = es
    household, account, reads = history(database)
    indexer = SearchIndexer(database, client, alias)
    catch_up(indexer)
    elastic, postgres = ElasticsearchSearch(client, reads, alias), PostgresSearch(reads)
    assert_same_answers(elastic, postgres, household)

    client.indices.delete(index=indices_of(client, alias))  # the index and its alias are gone
    assert not client.indices.exists_alias(name=alias)
    assert indices_of(client, alias) == []
    assert indexer.reindex(batch=50) == 310  # both households
    assert len(client.indices.get_alias(name=alias)) == 1
    assert_same_answers(elastic, postgres, household)

    books = Books(database)  # and it keeps following the read model afterwards
    rng = random.Random(8)
    for n in range(20):
        record(books, household, account, rng, n)
    books.categories.rename(household, "transport", RenameCategory(name="Journeys"))
    books.close()
    project(database)
    catch_up(indexer)
    assert_same_answers(elastic, postgres, household)
    journeys = all_ids(postgres, household, TransactionFilter(category="journeys"))
    assert journeys and all_ids(elastic, household, TransactionFilter(category="journeys")) == journeys
    reads.close()


def test_a_reindex_swaps_the_alias_while_searches_answer_and_the_indexer_follows(
    database: str, es: tuple[Any, str]
) -> None:
    from projections.search_index import SearchIndexer
    from queries.search_es import ElasticsearchSearch

    client, alias = es
    household, account, reads = history(database, 200)
    indexer = SearchIndexer(database, client, alias)
    catch_up(indexer)
    elastic, postgres = ElasticsearchSearch(client, reads, alias), PostgresSearch(reads)
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            try:
                elastic.find(household, TransactionFilter(text="gym"), 50, None, None)
            except BaseException as error:
                errors.append(error)

    def keep_writing_and_indexing() -> None:  # rounds of the indexer meet the swap
        books, rng = Books(database), random.Random(9)
        try:
            for n in range(30):
                record(books, household, account, rng, n)
                project(database)
                indexer.run_once()
        except BaseException as error:
            errors.append(error)
        finally:
            books.close()

    workers = [threading.Thread(target=keep_searching), threading.Thread(target=keep_writing_and_indexing)]
    for worker in workers:
        worker.start()
    indexer.reindex(batch=50)
    workers[1].join()
    stop.set()
    workers[0].join()
    assert errors == []
    assert len(client.indices.get_alias(name=alias)) == 1
    catch_up(indexer)
    assert_same_answers(elastic, postgres, household)
    reads.close()
