"""Handlers of balance monitors: a monitor watches an account its owner can see."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from commands.application import Ledger
from commands.loading import load_account, with_retries
from commands.planning_messages import ChangeMonitor, CreateMonitor
from commands.write_path import Appended, append
from ledger.account import AccessLevel
from ledger.errors import NotFoundError
from ledger.money import Money, parse_amount
from ledger.monitor import BalanceMonitor


class MonitorCommands:
    def __init__(self, app: Ledger) -> None:
        self.app = app

    def create(self, household_id: UUID, command: CreateMonitor, actor: UUID | None) -> Appended:
        account = load_account(self.app, household_id, command.account_id, actor, AccessLevel.VIEW)
        threshold = Money.of(parse_amount(command.threshold, account.currency), account.currency)
        monitor = BalanceMonitor.create(
            household_id, actor, account.id, command.name, threshold, command.direction
        )
        return append(self.app, monitor)

    def load(self, household_id: UUID, monitor_id: UUID, actor: UUID | None) -> BalanceMonitor:
        """A person's monitors are theirs: another member's answers 404 like a stranger's."""
        try:
            monitor: Any = self.app.repository.get(monitor_id)
        except AggregateNotFoundError:
            monitor = None
        if (
            not isinstance(monitor, BalanceMonitor)
            or monitor.household_id != household_id
            or monitor.deleted
            or (actor is not None and monitor.owner_id not in (None, actor))
        ):
            raise NotFoundError(f"no balance monitor {monitor_id}")
        return monitor

    def change(
        self, household_id: UUID, monitor_id: UUID, command: ChangeMonitor, actor: UUID | None
    ) -> Appended:
        def attempt() -> Appended:
            monitor = self.load(household_id, monitor_id, actor)
            changes: dict[str, Any] = command.changes()
            if "threshold" in changes:
                currency = monitor.threshold.currency
                changes["threshold"] = Money.of(parse_amount(str(changes["threshold"]), currency), currency)
            monitor.change(changes)
            return append(self.app, monitor)

        return with_retries(attempt)

    def delete(self, household_id: UUID, monitor_id: UUID, actor: UUID | None) -> Appended:
        def attempt() -> Appended:
            monitor = self.load(household_id, monitor_id, actor)
            monitor.delete()
            return append(self.app, monitor)

        return with_retries(attempt)
