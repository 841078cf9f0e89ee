"""Differential test of the transactions list: random filter combinations over a random
household, compared with a plain-Python oracle; pages have no overlap and no hole."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from commands.messages import Reason
from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner
from queries.db import ReadStore
from queries.transactions import TransactionFilter, list_transactions
from tests.conftest import create_database, drop_database
from tests.integration.helpers import Books

pytestmark = pytest.mark.integration
SEED = 4242
COUNT = 300
WORDS = ["rent", "coffee", "salary", "train", "pharmacy", "cinema", "groceries", "gift"]


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ReadStore, uuid.UUID, list[dict[str, Any]]]]:

    database = create_database()
    books = Books(database)
    rng = random.Random(SEED)
    household = uuid.uuid4()
    accounts = [books.open(household, f"A{n}") for n in range(3)]
    truth: list[dict[str, Any]] = []
    for n in range(COUNT):
        kind = rng.choice(["income", "expense", "transfer"])
        account = rng.choice(accounts)
        amount = Decimal(rng.randint(1, 50000)) / 100
        on = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 120))
        word = rng.choice(WORDS)
        fields: dict[str, Any] = {"description": f"{word} {n}", "date": on}
        if kind == "transfer":
            fields["to_account_id"] = rng.choice([a for a in accounts if a != account])
        else:
            fields["category"] = rng.choice(["food", "home", "fun"])
        if kind == "income":
            amount += 1000  # keep balances healthy; no limits here anyway
        tid = books.record(household, kind, account, str(amount), **fields)
        row = {"id": tid, "kind": kind, "amount": amount, "date": on, "word": word, "status": "posted"}
        row |= {
            "category": fields.get("category"),
            "accounts": {account, fields.get("to_account_id")} - {None},
        }
        if rng.random() < 0.1:
            books.transactions.cancel(household, tid, Reason(reason="x"), None)
            row["status"] = "cancelled"
        truth.append(row)
    runner = ProjectionRunner(PROJECTIONS["transactions"], database)
    runner.catch_up()
    runner.close()
    store = ReadStore(database, 2)
    store.open()
    yield store, household, truth
    store.close()
    books.close()
    drop_database(database)


def oracle(truth: list[dict[str, Any]], f: TransactionFilter) -> list[uuid.UUID]:
    def keep(t: dict[str, Any]) -> bool:
        return (
            (f.account_id is None or f.account_id in t["accounts"])
            and (f.date_from is None or t["date"] >= f.date_from)
            and (f.date_to is None or t["date"] <= f.date_to)
            and (f.category is None or t["category"] == f.category)
            and (f.status is None or t["status"] == f.status)
            and (f.kind is None or t["kind"] == f.kind)
            and (f.min_amount is None or t["amount"] >= f.min_amount)
            and (f.max_amount is None or t["amount"] <= f.max_amount)
            and (f.text is None or t["word"] == f.text)
        )

    return sorted(t["id"] for t in truth if keep(t))


def random_filter(rng: random.Random, truth: list[dict[str, Any]]) -> TransactionFilter:
    accounts = sorted({a for t in truth for a in t["accounts"]})
    day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 120))
    return TransactionFilter(
        account_id=rng.choice([None, *accounts]),
        date_from=rng.choice([None, day]),
        date_to=rng.choice([None, day + dt.timedelta(days=rng.randint(0, 60))]),
        category=rng.choice([None, "food", "home", "fun"]),
        status=rng.choice([None, "posted", "cancelled"]),
        kind=rng.choice([None, "income", "expense", "transfer"]),
        min_amount=rng.choice([None, Decimal(rng.randint(0, 300))]),
        max_amount=rng.choice([None, Decimal(rng.randint(200, 2000))]),
        text=rng.choice([None, *WORDS]),
    )


@pytest.mark.reliability
def test_random_filters_match_the_oracle_and_pages_tile_the_result(
    world: tuple[ReadStore, uuid.UUID, list[dict[str, Any]]],
) -> None:
    store, household, truth = world
    rng = random.Random(SEED)
    non_empty = 0
    for case in range(200):
        filters = random_filter(rng, truth)
        limit = rng.choice([1, 7, 50, 500])
        seen: list[uuid.UUID] = []
        cursor = None
        while True:
            page = list_transactions(store, household, filters, limit, cursor)
            assert len(page.items) <= limit
            seen.extend(item.id for item in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert len(seen) == len(set(seen)), f"case {case} (seed {SEED}): pages overlap"
        assert sorted(seen) == oracle(truth, filters), f"case {case} (seed {SEED}): {filters}"
        non_empty += bool(seen)
    assert non_empty >= 40, f"only {non_empty} of 200 cases found anything: the test would prove little"


@pytest.mark.reliability
def test_another_household_sees_nothing(world: tuple[ReadStore, uuid.UUID, list[dict[str, Any]]]) -> None:
    store, _, _ = world
    assert list_transactions(store, uuid.uuid4(), TransactionFilter(), 500).items == []
