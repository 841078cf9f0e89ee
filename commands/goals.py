"""Handlers of goal commands: a goal's accounts must be the household's, visible to the
actor, and in the goal's currency."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from commands.application import Ledger
from commands.loading import check_expected_version, load_account, with_retries
from commands.messages import ChangeGoal, CreateGoal
from commands.write_path import Appended, append
from ledger.account import AccessLevel
from ledger.errors import CurrencyMismatchError, NotFoundError
from ledger.goal import Goal
from ledger.money import Money, parse_amount


class GoalCommands:
    def __init__(self, app: Ledger) -> None:
        self.app = app

    def _check_accounts(
        self, household_id: UUID, account_ids: list[UUID], currency: str, actor: UUID | None
    ) -> None:
        for account_id in account_ids:
            account = load_account(self.app, household_id, account_id, actor, AccessLevel.VIEW)
            if account.currency != currency:
                raise CurrencyMismatchError(
                    f"account {account_id} holds {account.currency}, the goal {currency}"
                )

    def create(self, household_id: UUID, command: CreateGoal, actor: UUID | None) -> Appended:
        self._check_accounts(household_id, command.account_ids, command.currency, actor)
        target = Money.of(parse_amount(command.target, command.currency), command.currency)
        goal = Goal.create(
            household_id, actor, command.name, target, command.account_ids, command.target_date
        )
        return append(self.app, goal)

    def load(self, household_id: UUID, goal_id: UUID) -> Goal:
        try:
            goal = self.app.repository.get(goal_id)
        except AggregateNotFoundError:
            goal = None
        if not isinstance(goal, Goal) or goal.household_id != household_id or goal.deleted:
            raise NotFoundError(f"no goal {goal_id}")
        return goal

    def change(
        self, household_id: UUID, goal_id: UUID, command: ChangeGoal, expected: int | None, actor: UUID | None
    ) -> Appended:
        def attempt() -> Appended:
            goal = self.load(household_id, goal_id)
            check_expected_version(self.app, goal, expected)  # type: ignore[arg-type]
            changes: dict[str, Any] = command.changes()
            currency = goal.target.currency
            if "target" in changes:
                changes["target"] = Money.of(parse_amount(str(changes["target"]), currency), currency)
            if "account_ids" in changes:
                self._check_accounts(household_id, list(changes["account_ids"]), currency, actor)  # type: ignore[arg-type]
            goal.change(changes)
            return append(self.app, goal)

        return with_retries(attempt)

    def delete(self, household_id: UUID, goal_id: UUID, actor: UUID | None) -> Appended:
        def attempt() -> Appended:
            goal = self.load(household_id, goal_id)
            goal.delete()
            return append(self.app, goal)

        return with_retries(attempt)
