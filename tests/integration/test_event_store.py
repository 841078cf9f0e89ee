"""The event store on the real PostgreSQL: concurrency, limits, append-only, snapshots."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from eventsourcing.postgres import PostgresAggregateRecorder

from commands import categorisation
from commands.messages import AddCategory, RecordTransaction, RenameAccount
from commands.recorder import LedgerRecorder
from commands.write_path import append
from ledger.account import Account
from ledger.categories import book_id
from ledger.errors import BalanceLimitError, ConcurrencyConflictError, InvalidInputError
from tests.integration.helpers import Books

pytestmark = pytest.mark.integration


@pytest.fixture
def books(database: str) -> Iterator[Books]:
    books = Books(database, pool_size=20)
    yield books
    books.close()


@pytest.mark.reliability
def test_concurrent_writers_on_one_aggregate_the_loser_gets_a_conflict(books: Books, database: str) -> None:
    household = uuid.uuid4()
    account_id = books.open(household)
    first = books.ledger.repository.get(account_id)
    second = books.ledger.repository.get(account_id)
    first.rename("Mine")
    second.rename("Theirs")
    books.ledger.save(first)
    with pytest.raises(ConcurrencyConflictError):
        append(books.ledger, second)
    assert books.ledger.repository.get(account_id).name == "Mine"  # no lost update, no overwrite


def test_stale_if_match_gets_409_with_the_competing_change(books: Books) -> None:
    household = uuid.uuid4()
    account_id = books.open(household)
    books.accounts.rename(household, account_id, RenameAccount(name="Joint"), expected=1)
    with pytest.raises(ConcurrencyConflictError) as caught:
        books.accounts.rename(household, account_id, RenameAccount(name="Mine"), expected=1)
    competing = caught.value.extra["competing_changes"]
    assert [c["type"] for c in competing] == ["Account.Renamed"]
    assert competing[0]["data"] == {"name": "Joint"}
    assert books.ledger.repository.get(account_id).name == "Joint"


@pytest.mark.reliability
@pytest.mark.parametrize("processes", [1, 2])
def test_double_spend_never_takes_a_guarded_account_below_zero(
    books: Books, database: str, processes: int
) -> None:
    """50 concurrent withdrawals of 30 from 1,000; with 2 apps, as from 2 API processes
    that do not share in-process locks, only optimistic concurrency protects the floor."""
    household = uuid.uuid4()
    wallet = books.open(household, "Wallet", minimum="0")
    books.record(household, "income", wallet, "1000.00")
    writers = [books] + [Books(database, pool_size=20) for _ in range(processes - 1)]
    outcomes: list[str] = []
    lock = threading.Lock()

    def withdraw(writer: Books) -> None:
        try:
            writer.record(household, "expense", wallet, "30.00")
            result = "ok"
        except (BalanceLimitError, ConcurrencyConflictError) as error:
            result = type(error).__name__
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=withdraw, args=(writers[n % processes],)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for writer in writers[1:]:
        writer.close()

    account = books.ledger.repository.get(wallet)
    succeeded = outcomes.count("ok")
    assert len(outcomes) == 50
    assert succeeded <= 33
    assert outcomes.count("BalanceLimitError") >= 1  # the floor was really reached
    assert account.balance == Decimal("1000.00") - 30 * succeeded >= 0
    events = list(books.ledger.events.get(wallet))
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    assert len(events) == 2 + succeeded  # opened, income, one PostingApplied per success


@pytest.mark.reliability
def test_the_events_table_refuses_update_delete_and_truncate(books: Books, database: str) -> None:
    books.open(uuid.uuid4())
    statements = [
        "UPDATE eventstore.fiscaflow_events SET topic = 'x'",
        "DELETE FROM eventstore.fiscaflow_events",
        "TRUNCATE eventstore.fiscaflow_events",
    ]
    for statement in statements:
        with psycopg.connect(database) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM eventstore.fiscaflow_events").fetchone() == (1,)


def test_snapshots_give_the_same_account_as_full_replay(database: str) -> None:
    household = uuid.uuid4()
    with_snapshots = Books(database, snapshot_interval=10)
    try:
        account_id = with_snapshots.open(household)
        for _ in range(25):
            with_snapshots.record(household, "income", account_id, "1.00")
        without = Books(database, snapshot_interval=0)
        try:
            replayed = without.ledger.repository.get(account_id)
        finally:
            without.close()
        snapshotted = with_snapshots.ledger.repository.get(account_id)
        assert with_snapshots.ledger.snapshots is not None
        assert list(with_snapshots.ledger.snapshots.get(account_id))  # snapshots were taken
        assert isinstance(snapshotted, Account)
        assert (
            (snapshotted.version, snapshotted.balance)
            == (replayed.version, replayed.balance)
            == (26, Decimal("25.00"))
        )
    finally:
        with_snapshots.close()


def test_selecting_events_gives_what_the_library_gives_for_every_shape(books: Books) -> None:
    """commands/recorder.LedgerRecorder.select_events renders each statement once; every
    combination of gt, lte, desc and limit selects what eventsourcing's own select does."""
    household = uuid.uuid4()
    account_id = books.open(household)
    for _ in range(6):
        books.record(household, "income", account_id, "1.00")
    recorder = books.ledger.recorder
    assert isinstance(recorder, LedgerRecorder)
    shapes = 0
    for gt in (None, 2):
        for lte in (None, 5):
            for desc in (False, True):
                for limit in (None, 2):
                    options = {"gt": gt, "lte": lte, "desc": desc, "limit": limit}
                    ours = recorder.select_events(account_id, **options)
                    library = PostgresAggregateRecorder.select_events(recorder, account_id, **options)
                    assert [e.originator_version for e in ours] == [e.originator_version for e in library]
                    assert ours == library and ours, options
                    shapes += 1
    assert shapes == len(recorder.selects) == 16


def test_a_batch_passing_a_snapshot_interval_leaves_a_snapshot_of_what_it_stored(database: str) -> None:
    """Snapshots are taken from the saved aggregate (commands/application.Ledger.save): a
    batch from version 1 to 16 passes the interval 10 mid-batch and leaves one snapshot, at
    16; one within an interval leaves none; each equals the account replayed without."""
    household = uuid.uuid4()
    books = Books(database, snapshot_interval=10)
    try:
        account_id = books.open(household)
        assert books.ledger.snapshots is not None
        income = RecordTransaction(
            kind="income", account_id=account_id, amount="2.50", date=dt.date(2026, 11, 1)
        )
        books.transactions.record_many(household, [income] * 15)
        taken = list(books.ledger.snapshots.get(account_id))
        assert [s.originator_version for s in taken] == [16]
        books.transactions.record_many(household, [income] * 3)  # 17 to 19: no multiple of 10
        assert [s.originator_version for s in books.ledger.snapshots.get(account_id)] == [16]
        books.transactions.record_many(household, [income] * 2)  # 20 and 21: passes 20
        assert [s.originator_version for s in books.ledger.snapshots.get(account_id)] == [16, 21]
        without = Books(database, snapshot_interval=0)
        try:
            for version in (16, 21):
                replayed = without.ledger.repository.get(account_id, version=version)
                from_snapshot = books.ledger.repository.get(account_id, version=version)
                assert vars(from_snapshot) == vars(replayed)
                assert replayed.balance == Decimal("2.50") * (version - 1)
        finally:
            without.close()
    finally:
        books.close()


def test_a_snapshot_that_cannot_be_stored_does_not_fail_the_stored_command(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The events are stored before the snapshot is taken: if storing the snapshot fails,
    the command still succeeds (and says so in the log), and the next multiple tries again."""
    household = uuid.uuid4()
    books = Books(database, snapshot_interval=10, cache_size=100)  # loads skip the snapshots
    try:
        account_id = books.open(household)
        assert books.ledger.snapshots is not None
        income = RecordTransaction(
            kind="income", account_id=account_id, amount="1.00", date=dt.date(2026, 11, 1)
        )
        books.transactions.record_many(household, [income])  # version 2, the account cached
        with psycopg.connect(database, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'eventstore' AND table_name LIKE '%snapshots'"
            ).fetchall()
            assert len(tables) == 1
            (table,) = tables[0]
            conn.execute(f"ALTER TABLE eventstore.{table} RENAME TO away")
            try:
                with caplog.at_level("WARNING", logger="commands.application"):
                    appended = books.transactions.record_many(household, [income] * 12)
            finally:
                conn.execute(f"ALTER TABLE eventstore.away RENAME TO {table}")
        assert appended.events == 24  # 12 transactions and 12 postings: stored
        assert "not stored" in caplog.text
        assert list(books.ledger.snapshots.get(account_id)) == []
        books.transactions.record_many(household, [income] * 8)  # 14 to 22 passes 20: stored
        assert [s.originator_version for s in books.ledger.snapshots.get(account_id)] == [22]
        assert books.ledger.repository.get(account_id).balance == Decimal("21.00")
    finally:
        books.close()


def test_save_collects_aggregates_bare_events_and_skips_none_like_the_library(books: Books) -> None:
    """Ledger.save collects our aggregates without the library's Protocol checks; a bare
    domain event and None still go through the library's own collect_events."""
    household = uuid.uuid4()
    first, second = books.open(household, "First"), books.open(household, "Second")
    renamed = books.ledger.repository.get(first)
    renamed.rename("First, renamed")
    other = books.ledger.repository.get(second)
    other.rename("Second, renamed")
    bare = other.collect_events()  # saved as events, not as an aggregate
    recordings = books.ledger.save(renamed, None, *bare)
    assert [(r.domain_event.originator_id, r.domain_event.originator_version) for r in recordings] == [
        (first, 2),
        (second, 2),
    ]
    assert books.ledger.repository.get(first).name == "First, renamed"
    assert books.ledger.repository.get(second).name == "Second, renamed"


def test_a_cached_aggregate_is_replaced_by_a_copy_of_what_this_process_saved(database: str) -> None:
    """After a save, the cache holds a copy of the saved account: the next load reads back
    none of the events this process wrote, changing the saved object afterwards does not
    reach the cache, and what another process appends is still fast-forwarded."""
    household = uuid.uuid4()
    books, other = Books(database, cache_size=100), Books(database, cache_size=100)
    try:
        account_id = books.open(household)
        books.ledger.repository.get(account_id)  # cached at version 1
        read: list[int] = []
        select = books.ledger.recorder.select_events

        def counting(*args: object, **kwargs: object) -> object:
            events = select(*args, **kwargs)  # type: ignore[arg-type]
            read.append(len(events))
            return events

        books.ledger.recorder.select_events = counting  # type: ignore[method-assign]
        income = RecordTransaction(
            kind="income", account_id=account_id, amount="5.00", date=dt.date(2026, 11, 1)
        )
        books.transactions.record_many(household, [income] * 10)  # the account at version 11
        read.clear()
        loaded = books.ledger.repository.get(account_id)
        assert (loaded.version, loaded.balance, read) == (11, Decimal("50.00"), [0])

        loaded.rename("changed, never saved")  # the caller's copy, not the cache's
        assert books.ledger.repository.get(account_id).name == "Checking"

        other.transactions.record_many(household, [income])  # another process: version 12
        read.clear()
        fresh = books.ledger.repository.get(account_id)
        assert (fresh.version, fresh.balance, read) == (12, Decimal("55.00"), [1])
        replayed = books.ledger.repository.get(account_id, version=12)  # from the store, no cache
        assert vars(fresh) == vars(replayed)
    finally:
        books.close()
        other.close()


def test_recording_reads_the_cached_category_book_and_copies_it_only_to_add_a_category(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stored book is read in place (no copy per recorded transaction) unless a name is
    new to it: then a copy gets the category and is saved, and the cache's book is never
    changed by a command."""
    household = uuid.uuid4()
    books = Books(database, cache_size=100)
    try:
        account_id = books.open(household)
        books.categories.add(household, AddCategory(name="Bees"))  # the book is stored now
        cached = books.ledger.repository.get(book_id(household), deepcopy_from_cache=False)
        copies: list[object] = []
        real_copy = categorisation.deepcopy

        def counting(aggregate: object) -> object:
            copies.append(aggregate)
            return real_copy(aggregate)

        monkeypatch.setattr(categorisation, "deepcopy", counting)
        for category in ("Bees", "groceries", None):
            books.record(household, "expense", account_id, "1.00", category=category)
        assert copies == [], "a known category (or none) reads the book in place"
        version = cached.version
        books.record(household, "expense", account_id, "2.00", category="Wasps")
        assert copies == [cached]
        fresh = books.ledger.repository.get(book_id(household))
        assert fresh.version == version + 1 and fresh.resolve("Wasps") is not None
        assert cached.version == version and cached.resolve("Wasps") is None, "the cached book unchanged"
        with pytest.raises(InvalidInputError):
            books.record(household, "expense", account_id, "3.00", category="no/slash")
    finally:
        books.close()
