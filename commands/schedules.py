"""Handlers of schedules, and the run that generates occurrences and checks bills.

``ScheduleCommands.run(today)`` is safe anywhere and twice: every step reloads the schedule
and appends with optimistic concurrency, and a generated transaction's id derives from its
occurrence, so a restarted or concurrent run cannot generate an occurrence twice. A run
catches up every occurrence due since the last one, in order (e.g. after a week offline).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from commands.application import Ledger
from commands.loading import load_account, with_retries
from commands.messages import RecordTransaction
from commands.planning_messages import ChangeSchedule, CreateSchedule
from commands.transactions import TransactionCommands
from commands.write_path import Appended, append
from ledger.account import AccessLevel
from ledger.errors import DomainError, NotFoundError
from ledger.money import Money, parse_amount
from ledger.schedule import Mode, Schedule, occurrence_transaction_id
from queries.db import ReadStore
from queries.schedules import due_schedules, matching_payment

log = logging.getLogger("fiscaflow.schedules")
MAX_STEPS_PER_SCHEDULE = 400  # a run catches up at most this many occurrences per schedule


class ScheduleCommands:
    def __init__(self, app: Ledger, transactions: TransactionCommands, reads: ReadStore) -> None:
        self.app, self.transactions, self.reads = app, transactions, reads

    def create(self, household_id: UUID, command: CreateSchedule, actor: UUID | None) -> Appended:
        account = load_account(self.app, household_id, command.account_id, actor, AccessLevel.FULL)
        terms: dict[str, Any] = {
            name: getattr(command, name) for name in command.__struct_fields__ if name != "amount"
        }
        terms["amount"] = Money.of(parse_amount(command.amount, account.currency), account.currency)
        return append(self.app, Schedule.create(household_id, actor, terms))

    def load(self, household_id: UUID, schedule_id: UUID, actor: UUID | None = None) -> Schedule:
        try:
            schedule: Any = self.app.repository.get(schedule_id)
        except AggregateNotFoundError:
            schedule = None
        if not isinstance(schedule, Schedule) or schedule.household_id != household_id or schedule.deleted:
            raise NotFoundError(f"no schedule {schedule_id}")
        if actor is not None:  # a schedule of an account hidden from the actor does not exist
            load_account(self.app, household_id, schedule.account_id, actor, AccessLevel.VIEW)
        return schedule

    def change(
        self, household_id: UUID, schedule_id: UUID, command: ChangeSchedule, actor: UUID | None
    ) -> Appended:
        def attempt() -> Appended:
            schedule = self.load(household_id, schedule_id, actor)
            changes: dict[str, Any] = command.changes()
            if "amount" in changes:
                currency = schedule.amount.currency
                changes["amount"] = Money.of(parse_amount(str(changes["amount"]), currency), currency)
            schedule.change(changes)
            return append(self.app, schedule)

        return with_retries(attempt)

    def delete(self, household_id: UUID, schedule_id: UUID, actor: UUID | None) -> Appended:
        def attempt() -> Appended:
            schedule = self.load(household_id, schedule_id, actor)
            schedule.delete()
            return append(self.app, schedule)

        return with_retries(attempt)

    # --- the run ---------------------------------------------------------------------------

    def run(self, today: dt.date) -> dict[str, int]:
        """Generate what is due, match bills' payments, flag missed bills; counts by outcome."""
        counts = {"generated": 0, "paid": 0, "missed": 0, "failed": 0}
        for household_id, schedule_id in due_schedules(self.reads, today):
            for _ in range(MAX_STEPS_PER_SCHEDULE):
                try:
                    outcome = with_retries(partial(self._step, household_id, schedule_id, today))
                except DomainError as error:  # e.g. the account was closed: leave it to a person
                    log.warning("schedule %s not run: %s", schedule_id, error)
                    counts["failed"] += 1
                    break
                if outcome is None:
                    break
                counts[outcome] += 1
        return counts

    def _step(self, household_id: UUID, schedule_id: UUID, today: dt.date) -> str | None:
        """Handle the schedule's next occurrence if it is due; None when nothing was due."""
        schedule = self.load(household_id, schedule_id)
        on = schedule.next_due
        if on is None or on > today + dt.timedelta(
            days=schedule.grace_days if schedule.mode is Mode.BILL else 0
        ):
            return None
        if schedule.mode is Mode.GENERATE:
            transaction_id = occurrence_transaction_id(schedule.id, on)
            schedule.generate(on, transaction_id)
            self.transactions.record_with(household_id, occurrence(schedule, on), transaction_id, schedule)
            return "generated"
        payment = matching_payment(self.reads, schedule, on)
        if payment is not None:
            schedule.pay(on, payment)
        elif today > on + dt.timedelta(days=schedule.grace_days):
            schedule.miss(on)
        else:
            return None  # the window is open: wait for the payment
        append(self.app, schedule)
        return "paid" if payment is not None else "missed"


def occurrence(schedule: Schedule, on: dt.date) -> RecordTransaction:
    return RecordTransaction(
        kind=str(schedule.kind),  # type: ignore[arg-type]
        account_id=schedule.account_id,
        amount=str(schedule.amount.amount),
        date=on,
        description=schedule.description or schedule.name,
        merchant=schedule.merchant,
        category=schedule.category,
        tags=["scheduled"],
    )


def run_schedules(commands: ScheduleCommands) -> Callable[[], int]:
    """The periodic work of the schedule runner: one run as of today (UTC)."""

    def work() -> int:
        counts = commands.run(dt.datetime.now(dt.UTC).date())
        return sum(counts.values())

    return work
