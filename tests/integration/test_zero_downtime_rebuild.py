"""A rebuild builds the read model in a shadow schema and swaps it in atomically: queries
running in a loop meanwhile keep answering, and answer exactly what they answered before."""

from __future__ import annotations

import threading
import uuid

import pytest

from projections.rebuild import rebuild
from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner
from queries.accounts import list_accounts
from queries.db import ReadStore
from queries.transactions import TransactionFilter, list_transactions
from tests.integration.helpers import Books

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["accounts", "transactions"])
def test_queries_keep_answering_correctly_during_rebuilds(database: str, name: str) -> None:
    books = Books(database)
    household = uuid.uuid4()
    accounts = [books.open(household, f"A{n}") for n in range(4)]
    for n in range(400):
        books.record(household, "income", accounts[n % 4], f"{n % 50 + 1}.00", description=f"entry {n}")
    books.close()
    runner = ProjectionRunner(PROJECTIONS[name], database)
    runner.catch_up()
    runner.close()
    reads = ReadStore(database, 4)
    reads.open()

    def answer() -> object:
        if name == "accounts":
            return [(a.id, a.balance) for a in list_accounts(reads, household)]
        page = list_transactions(reads, household, TransactionFilter(text="entry"), 500)
        return [t.id for t in page.items]

    expected = answer()
    stop, errors, answers = threading.Event(), [], [0]

    def keep_asking() -> None:
        while not stop.is_set():
            try:
                got = answer()
            except Exception as error:  # reported below with the rest
                errors.append(repr(error))
                continue
            if got != expected:
                errors.append("an answer changed during the rebuild")
            answers[0] += 1

    askers = [threading.Thread(target=keep_asking) for _ in range(2)]
    for asker in askers:
        asker.start()
    try:
        for _ in range(3):
            before = answers[0]
            assert rebuild(PROJECTIONS[name], database) > 0
            assert answers[0] > before, "queries were answered while the rebuild ran"
    finally:
        stop.set()
        for asker in askers:
            asker.join()
        reads.close()
    assert errors == []
