"""A household's schedules, monitors, alerts, notification settings and shared expenses,
for the projection tests' random histories."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from commands.monitors import MonitorCommands
from commands.planning_messages import ChangeMonitor, ChangeSchedule, CreateMonitor, CreateSchedule
from commands.schedules import ScheduleCommands
from commands.settlement import SettlementCommands
from commands.settlement_messages import SetIncomes, SettleUp, ShareExpense
from commands.write_path import append
from ledger.budget import BudgetAlert
from ledger.errors import DomainError
from ledger.monitor import BalanceAlert
from ledger.notifications import NotificationSettings
from tests.integration.helpers import Books


def plan(
    books: Books, household: uuid.UUID, people: tuple[uuid.UUID, uuid.UUID], accounts: list[uuid.UUID],
    expenses: list[uuid.UUID], budget: uuid.UUID,
) -> None:  # fmt: skip
    owner, partner = people
    monitors = MonitorCommands(books.ledger)
    low = monitors.create(household, CreateMonitor(account_id=accounts[0], threshold="1000.00"), owner).id
    monitors.change(household, low, ChangeMonitor(direction="above"), owner)
    monitors.create(household, CreateMonitor(account_id=accounts[1], threshold="-50.00"), None)
    schedules = ScheduleCommands(books.ledger, books.transactions, None)  # type: ignore[arg-type]
    start = dt.date(2026, 1, 5)
    rent = schedules.create(
        household, CreateSchedule(name="Rent", account_id=accounts[2], amount="10.00", start=start), owner
    ).id
    schedules.change(household, rent, ChangeSchedule(amount="12.00"), owner)
    for _ in range(2):
        schedules._step(household, rent, dt.date(2026, 3, 1))
    bill = schedules.create(
        household,
        CreateSchedule(name="Water", mode="bill", account_id=accounts[2], amount="9.00", start=start),
        None,
    ).id
    water = schedules.load(household, bill)
    water.miss(start)
    append(books.ledger, water)
    alerts = [
        BudgetAlert.crossed(
            household, budget, (start, dt.date(2026, 1, 31)), 10, Decimal(80), Decimal(700), "EUR"
        ),
        BalanceAlert.crossed(low, 3, {
            "household_id": household, "owner_id": owner, "account_id": accounts[0], "name": "Low",
            "direction": "above", "threshold": Decimal(1000), "balance": Decimal(1500), "currency": "EUR",
        }),
    ]  # fmt: skip
    for alert in alerts:
        append(books.ledger, alert)
    settings = NotificationSettings.open(partner)
    settings.change_preferences({"channels": {"budget.threshold": ["in_app"]}})
    settings.add_webhook(uuid.uuid4(), household, "https://example.org/hook", ["bill.missed"])
    settings.read_all(household)
    append(books.ledger, settings)
    share(books, household, people, accounts, expenses)


def share(
    books: Books, household: uuid.UUID, people: tuple[uuid.UUID, uuid.UUID], accounts: list[uuid.UUID],
    expenses: list[uuid.UUID],
) -> None:  # fmt: skip
    owner, partner = people
    settlement = SettlementCommands(books.ledger)
    settlement.set_incomes(
        household, SetIncomes(currency="EUR", incomes={owner: "3000.00", partner: "1000.00"})
    )
    shared: list[uuid.UUID] = []
    for expense in expenses:
        method = "income" if len(shared) % 2 else "equal"
        try:
            settlement.share(household, ShareExpense(transaction_id=expense, method=method), None)
        except DomainError:  # an income, a transfer or a cancelled one
            continue
        shared.append(expense)
    if shared:
        settlement.unshare(household, shared[0], None)
    settlement.settle_up(
        household,
        SettleUp(from_member=partner, to_member=owner, amount="10.00", currency="EUR",
                 from_account_id=accounts[0], to_account_id=accounts[1], date=dt.date(2026, 1, 20)),
        None,
    )  # fmt: skip
