"""The PostgreSQL side of the Elasticsearch backend, on the real PostgreSQL and without an
Elasticsearch server: a search with a consistency token waits for the indexer's position in
search.tracking (returns once it is reached, refuses a token beyond the head, times out with
the read models' error), and the documents a category rename or merge changes are the ones
the indexer writes again, with the category event's position as their external version.
What Elasticsearch does with them is tested in tests/integration/test_search_es.py."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from api.consistency import read_after
from commands.messages import EditTransaction, MergeCategory, Recategorise, RenameCategory
from ops.settings import Settings
from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner
from projections.search_index import SCHEMA, actions, touched
from queries.consistency import ProjectionLagError, UnknownPositionError
from queries.db import TRANSACTIONS_SCHEMA, ReadStore
from queries.search import PostgresSearch
from queries.search_es import ElasticsearchSearch, indexed_position, wait_for_index
from tests.integration.helpers import Books

pytestmark = pytest.mark.integration
WAIT = 0.3  # seconds: the wait budget of these tests (the API's is FISCAFLOW_CONSISTENCY_WAIT)


@pytest.fixture
def reads(database: str) -> Iterator[ReadStore]:
    store = ReadStore(database, 2)
    store.open()
    try:
        yield store
    finally:
        store.close()


def recorded(database: str, count: int) -> int:
    """``count`` transactions in the event store and the read model: the head position."""
    books = Books(database)
    household = uuid.uuid4()
    account = books.open(household)
    for n in range(count):
        books.record(household, "expense", account, f"{n + 1}.00", description=f"entry {n}")
    books.close()
    runner = ProjectionRunner(PROJECTIONS["transactions"], database)
    runner.catch_up()
    runner.close()
    return head_of(database)


def head_of(database: str) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT max(notification_id) FROM eventstore.fiscaflow_events").fetchone()
    assert row is not None
    return int(row[0])


def create_tracking(database: str, at: int) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        for statement in SCHEMA.split(";"):
            conn.execute(statement)
        conn.execute("UPDATE search.tracking SET position = %s WHERE name = 'elasticsearch'", (at,))


def track_later(database: str, at: int, delay: float) -> tuple[threading.Thread, threading.Event]:
    """Another connection records the indexer at ``at`` after ``delay`` seconds; the event is
    set just before that commit."""
    committing = threading.Event()

    def update() -> None:
        time.sleep(delay)
        with psycopg.connect(database) as conn:
            conn.execute("UPDATE search.tracking SET position = %s WHERE name = 'elasticsearch'", (at,))
            committing.set()

    thread = threading.Thread(target=update)
    thread.start()
    return thread, committing


def test_no_token_or_a_reached_position_answers_at_once(database: str, reads: ReadStore) -> None:
    head = recorded(database, 3)
    assert indexed_position(reads) == 0  # the indexer never ran: no search.tracking yet
    wait_for_index(reads, None, WAIT)  # no token: never waits, even with no index at all
    create_tracking(database, head)
    assert indexed_position(reads) == head
    wait_for_index(reads, head, 0.0)  # reached: returns without a wait budget
    wait_for_index(reads, head - 1, 0.0)


def test_the_wait_returns_once_the_indexer_records_the_token(database: str, reads: ReadStore) -> None:
    head = recorded(database, 3)
    create_tracking(database, head - 2)
    thread, committing = track_later(database, head, 0.2)
    try:
        wait_for_index(reads, head, 10.0)
        assert committing.is_set()  # it did not return while the index was behind
        assert indexed_position(reads) >= head
    finally:
        thread.join()


def test_an_index_that_stays_behind_times_out_with_the_read_models_error(
    database: str, reads: ReadStore
) -> None:
    head = recorded(database, 3)
    with pytest.raises(ProjectionLagError, match=f"search index has not reached position {head}"):
        wait_for_index(reads, head, WAIT)  # no indexer has ever run
    create_tracking(database, head - 1)
    with pytest.raises(ProjectionLagError):
        wait_for_index(reads, head, WAIT)
    with pytest.raises(UnknownPositionError):
        wait_for_index(reads, head + 1, WAIT)  # beyond the head: refused at once, no wait


def test_the_search_backends_wait_for_what_they_read(database: str, reads: ReadStore) -> None:
    head = recorded(database, 2)
    create_tracking(database, head - 1)  # the read model has the head, the index not yet
    PostgresSearch(reads).wait_for(head, 0.0)  # it reads the read model itself: nothing to wait for
    elastic = ElasticsearchSearch(None, reads)  # the client is not used by the wait
    with pytest.raises(ProjectionLagError):
        elastic.wait_for(head, WAIT)
    thread, committing = track_later(database, head, 0.2)
    try:
        elastic.wait_for(head, 10.0)
        assert committing.is_set()
    finally:
        thread.join()


def test_a_search_query_with_a_token_waits_for_the_index_within_the_budget(
    database: str, reads: ReadStore
) -> None:
    """api/consistency.read_after as the q path of GET /transactions calls it."""
    head = recorded(database, 2)
    create_tracking(database, head - 1)
    services: Any = SimpleNamespace(
        reads=reads, settings=Settings(consistency_wait=WAIT), search=ElasticsearchSearch(None, reads)
    )
    read_after(services, (TRANSACTIONS_SCHEMA,), str(head), None)  # a list without q: read model only
    with pytest.raises(ProjectionLagError):
        read_after(services, (TRANSACTIONS_SCHEMA,), str(head), None, search=True)
    with pytest.raises(ProjectionLagError):
        read_after(services, (TRANSACTIONS_SCHEMA,), None, str(head), search=True)  # ?after=
    read_after(services, (TRANSACTIONS_SCHEMA,), None, None, search=True)  # no token: no wait
    thread, committing = track_later(database, head, 0.1)
    try:
        services.settings = Settings(consistency_wait=10.0)
        read_after(services, (TRANSACTIONS_SCHEMA,), None, str(head), search=True)
        assert committing.is_set()
    finally:
        thread.join()


def test_a_rename_or_merge_selects_the_transactions_that_now_carry_the_new_name(database: str) -> None:
    books = Books(database)
    household, other_household = uuid.uuid4(), uuid.uuid4()
    account, other_account = books.open(household), books.open(other_household)

    def record(category: str | None, household_id: uuid.UUID = household) -> uuid.UUID:
        chosen = account if household_id == household else other_account
        return books.record(household_id, "expense", chosen, "5.00", description="x", category=category)

    coffee = [record("coffee"), record("coffee")]
    groceries = [record("groceries")]
    restaurants = [record("restaurants")]  # the merge's target: its documents stay as they were
    unrelated = [record(None), record("taxi"), record("coffee", other_household)]
    before = head_of(database)
    rename = books.categories.rename(household, "coffee", RenameCategory(name="Cafe")).position
    merge = books.categories.merge(household, "groceries", MergeCategory(into="restaurants")).position
    moved = books.transactions.recategorise(household, coffee[1], Recategorise(category="taxi"), None)
    edited = books.transactions.edit(household, coffee[0], EditTransaction(description="y"), None)
    books.close()
    runner = ProjectionRunner(PROJECTIONS["transactions"], database)
    runner.catch_up()
    runner.close()

    with psycopg.connect(database) as conn:
        # Up to the rename only, with the read model ahead: coffee[1] is in taxi by now, and
        # its own later event brings it into a later round.
        assert touched(conn, before, rename) == {coffee[0]: rename}
        versions = touched(conn, before, moved.position)
        assert versions[coffee[0]] == rename
        assert versions[coffee[1]] == moved.position  # its own later event: the higher version
        assert touched(conn, before, edited.position)[coffee[0]] == edited.position  # the same
        assert {versions[t] for t in groceries} == {merge}
        assert set(groceries) <= set(versions) and not set(unrelated) & set(versions)
        assert set(versions) <= {*coffee, *groceries, *restaurants}
        assert touched(conn, merge, moved.position) == {coffee[1]: moved.position}  # window (merge, moved]
        with conn.cursor() as curs:
            curs.execute(
                "SELECT * FROM read_transactions.transactions WHERE transaction_id = ANY(%s)",
                ([coffee[0], *groceries],),
            )
            names = [c.name for c in curs.description or []]
            rows = [dict(zip(names, row, strict=True)) for row in curs.fetchall()]
    built = {a["_id"]: a for a in actions("idx", rows, versions)}
    assert built[str(coffee[0])]["_source"]["category"] == "Cafe"
    assert "cafe" in built[str(coffee[0])]["_source"]["text"].split()
    assert built[str(groceries[0])]["_source"]["category"] == "restaurants"
    assert {(a["version"], a["version_type"]) for a in built.values()} == {
        (rename, "external"),
        (merge, "external"),
    }
