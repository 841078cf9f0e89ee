"""Events stored forever must stay readable: replay a committed event log of every type.

If this fails after a rename of a module, class or field in ledger/, register the old
topic or write an upcaster; never edit the fixture (it stands for data already stored).
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import CanMutateAggregate, _created_event_classes
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from ledger import (
    account,
    books,
    budget,
    categories,
    goal,
    household,
    imports,
    monitor,
    notifications,
    schedule,
    settlement,
    transaction,
    user,
)
from ledger.money import Money
from ledger.personal import ERASED
from ledger.transcodings import event_mapper

FIXTURES = sorted((Path(__file__).resolve().parents[1] / "fixtures").glob("event_log_v*.jsonl"))


def stored_events() -> list[StoredEvent]:
    rows = [json.loads(line) for f in FIXTURES for line in f.read_text().splitlines() if line]
    return [
        StoredEvent(UUID(r["originator_id"]), r["originator_version"], r["topic"], r["state"].encode())
        for r in rows
    ]


def replay() -> dict[UUID, Any]:
    mapper = event_mapper()
    by_aggregate: dict[UUID, list[Any]] = defaultdict(list)
    for stored in stored_events():
        by_aggregate[stored.originator_id].append(mapper.to_domain_event(stored))
    aggregates = {}
    for aggregate_id, events in by_aggregate.items():
        state = None
        for event in sorted(events, key=lambda e: e.originator_version):
            state = event.mutate(state)
        aggregates[aggregate_id] = state
    return aggregates


def every_event_class() -> set[str]:
    """The events our aggregates trigger: the library's generic Event, and the Created
    class an aggregate gets when its created event has another name, are left out."""
    topics = set()
    modules = (account, books, budget, categories, goal, household, imports, monitor, notifications, schedule)
    for module in (*modules, settlement, transaction, user):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            created = _created_event_classes.get(cls, [])
            for name, member in inspect.getmembers(cls, inspect.isclass):
                prefix = cls.__name__ + "."
                ours = issubclass(member, CanMutateAggregate) and member.__qualname__.startswith(prefix)
                generic = name == "Event" or (name == "Created" and member not in created)
                if ours and not generic:
                    topics.add(get_topic(member))
    return topics


def test_every_event_type_of_the_ledger_is_in_the_fixture() -> None:
    stored = {e.topic for e in stored_events()}
    missing = every_event_class() - stored
    assert not missing, f"new event types {sorted(missing)}: add them to a new fixture file (event_log_vN)"


def test_the_stored_log_replays_to_the_expected_state() -> None:
    aggregates = {
        type(a).__name__ + ":" + getattr(a, "name", getattr(a, "email", "")): a for a in replay().values()
    }
    assert aggregates["Account:Main"].balance == Decimal("2000.00")
    assert aggregates["Account:Savings"].balance == Decimal("500.00")
    assert aggregates["Account:Old"].is_closed
    private = aggregates["Account:Private"]
    assert (private.owner_id, private.default_access) == (UUID(int=10), "none")
    assert private.access_for(UUID(int=11)) == "view"
    assert aggregates["Account:Main"].access_for(UUID(int=99)) == "full"  # opened before sharing
    assert str(aggregates["Account:Reconciled"].reconciled_until) == "2026-02-28"
    owner = aggregates["User:fixture@example.org"]
    assert (owner.role, owner.status, owner.display_name, owner.email_verified) == (
        "premium",
        "active",
        "Fixture F.",
        True,
    )
    assert aggregates["User:partner@example.org"].status == "deleted"
    home = aggregates["Household:Fixture house"]
    assert list(home.members.values()) == ["family_owner"]
    transactions = [a for a in replay().values() if isinstance(a, transaction.Transaction)]
    cancelled = [
        t for t in transactions if t.status == "cancelled" and t.import_batch is None and t.expires_at is None
    ]
    assert all(t.reconciled_by is None for t in transactions if t.description != "Statement line")
    assert len(transactions) == 13
    assert [t.reconciled_by for t in transactions if t.description == "Statement line"] == [UUID(int=21)]
    assert [(t.description, t.category, str(t.date), t.tags) for t in cancelled] == [
        ("Groceries!", "household", "2026-01-04", ["a", "b"])
    ]
    assert all(sum(p.amount.amount for p in t.postings) == 0 for t in transactions)


def test_the_stored_category_book_and_categorisations_replay() -> None:
    aggregates = replay().values()
    (book,) = [a for a in aggregates if isinstance(a, categories.CategoryBook)]
    assert book.resolve("holidays").name == "Vacations"
    assert book.resolve("Snacks").name == "groceries"  # merged: history follows
    assert book.resolve("books").archived
    assert [r.name for r in book.rules.values()] == ["Coffee"]
    assert next(iter(book.runs.values()))[2] is True  # the run was undone
    by_description = {t.description: t for t in aggregates if isinstance(t, transaction.Transaction)}
    coffee = by_description["COSTA COFFEE 123 LONDON"]
    assert (coffee.category, coffee.tags, coffee.categorization_source) == (None, [], None)
    lunch = by_description["PRET A MANGER 77"]
    assert (lunch.category, lunch.categorization_source, lunch.confidence) == ("restaurants", "ml", 0.83)
    assert [p.account for p in lunch.postings][1] == "expenses:restaurants"


def test_the_stored_import_and_its_undo_replay() -> None:
    aggregates = list(replay().values())
    (batch,) = [a for a in aggregates if isinstance(a, imports.ImportBatch) and a.matched]
    assert (batch.reverted, batch.report["added"], len(batch.matched)) == (True, 1, 1)
    by_name = {a.name: a for a in aggregates if isinstance(a, account.Account)}
    assert by_name["Imported current"].balance == Decimal("0.00")
    assert by_name["Imported savings"].balance == Decimal("100.00")
    by_description = {t.description: t for t in aggregates if isinstance(t, transaction.Transaction)}
    assert (by_description["RENT APRIL"].status, by_description["RENT APRIL"].external_id) == (
        "cancelled",
        "BANK-1",
    )
    assert by_description["From current"].kind == "income"  # unmatched: what it was before
    assert all(a.reverted for a in aggregates if isinstance(a, imports.MatchedLine))


def test_stored_holds_receipts_and_foreign_amounts_replay() -> None:
    aggregates = list(replay().values())
    by_description = {t.description: t for t in aggregates if isinstance(t, transaction.Transaction)}
    dinner = by_description["Dinner"]
    assert (dinner.status, str(dinner.date), dinner.postings[0].amount.amount) == (
        "posted",
        "2026-05-03",
        Decimal("-58.00"),
    )
    assert list(dinner.receipts) == ["ab" * 32]
    assert by_description["Hotel deposit"].status == "cancelled"
    assert by_description["Fuel authorisation"].status == "cancelled"
    taxi = by_description["Taxi"]
    assert (taxi.status, taxi.postings[0].amount.amount, taxi.settled_by) == (
        "pending",
        Decimal("-20.00"),
        None,
    )
    usd = by_description["NYC hotel"]
    assert (str(usd.original_amount), usd.rate) == ("100.00 USD", Decimal("0.9237"))
    (card,) = [a for a in aggregates if isinstance(a, account.Account) and a.name == "Held card"]
    assert card.balance == Decimal("-170.37")  # 58 + 20 (taxi held again) + 92.37


def test_stored_budgets_and_alerts_replay() -> None:
    aggregates = list(replay().values())
    budgets = {b.name: b for b in aggregates if isinstance(b, budget.Budget)}
    food = budgets["Food"]
    assert (food.limit.amount, food.thresholds, food.private, food.rollover) == (
        Decimal("450.00"),
        [75, 100],
        True,
        True,
    )
    assert budgets["Old"].deleted
    (alert,) = [a for a in aggregates if isinstance(a, budget.BudgetAlert)]
    assert (alert.budget_id, alert.threshold, alert.spent) == (food.id, 75, Decimal("340.00"))
    assert alert.id == budget.alert_id(food.id, dt.date(2026, 6, 1), 75)


def test_stored_goals_replay() -> None:
    goals = {g.name: g for g in replay().values() if isinstance(g, goal.Goal)}
    assert (goals["Car"].target.amount, goals["Car"].target_date) == (Decimal("6000.00"), None)
    assert goals["Bike"].deleted


def test_the_stored_schedules_monitors_settings_and_settlement_replay() -> None:
    aggregates = list(replay().values())
    by_name = {a.name: a for a in aggregates if isinstance(a, schedule.Schedule)}
    rent, power = by_name["Rent"], by_name["Power"]
    assert (rent.amount.amount, str(rent.next_due), str(rent.end)) == (
        Decimal("950.00"),
        "2026-02-28",
        "2026-12-31",
    )
    assert (power.mode, str(power.next_due), power.deleted) == ("bill", "2026-03-31", True)
    (watcher,) = [a for a in aggregates if isinstance(a, monitor.BalanceMonitor)]
    assert (watcher.threshold.amount, watcher.direction, watcher.deleted) == (Decimal("50.00"), "above", True)
    (alert,) = [a for a in aggregates if isinstance(a, monitor.BalanceAlert)]
    assert alert.id == monitor.balance_alert_id(watcher.id, 7) and alert.balance == Decimal("80.00")
    (settings,) = [a for a in aggregates if isinstance(a, notifications.NotificationSettings)]
    assert settings.channels["bill.missed"] == ["email"] and settings.webhooks == {}
    assert settings.quiet_hours == {"start": "22:00", "end": "07:00", "timezone": "UTC"}
    (book,) = [a for a in aggregates if isinstance(a, settlement.SplitBook)]
    assert list(book.shared) == [UUID(int=97)]
    assert {m: s.amount for m, s in book.shared[UUID(int=97)].shares.items()} == {
        UUID(int=92): Decimal("45.00"),
        UUID(int=93): Decimal("45.00"),
    }
    assert book.incomes[UUID(int=92)].amount == Decimal("3000.00") and book.settle_ups == 1


def test_stored_period_closes_replay() -> None:
    (household_books,) = [a for a in replay().values() if isinstance(a, books.Books)]
    assert household_books.closed_through == dt.date(2026, 1, 31)  # February's close was reopened
    (close,) = household_books.closes
    assert close.balances == {str(UUID(int=101)): Money.of(Decimal("1234.50"), "EUR")}
    assert close.chain_head == "ab" * 32


def test_a_stored_erased_user_replays_with_its_personal_fields_erased() -> None:
    """Its fields were sealed with a key that is gone: every reader sees the mask."""
    (erased,) = [a for a in replay().values() if isinstance(a, user.User) and a.erased]
    assert (erased.email, erased.display_name, erased.password_hash) == (ERASED, ERASED, ERASED)
    assert erased.status == "deleted" and erased.erased_subjects == (erased.id, UUID(int=106))
