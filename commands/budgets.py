"""Handlers of budget commands. A budget's categories must be the household's (renamed or
merged names are taken as today's category); a private budget exists for its owner only."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from commands.application import Ledger
from commands.categorisation import load_book
from commands.loading import check_expected_version, with_retries
from commands.messages import ChangeBudget, CreateBudget
from commands.write_path import Appended, append
from ledger.budget import Budget
from ledger.errors import IllegalTransitionError, NotFoundError
from ledger.money import Money, parse_amount


class BudgetCommands:
    def __init__(self, app: Ledger) -> None:
        self.app = app

    def _categories(self, household_id: UUID, names: list[str]) -> list[str]:
        book = load_book(self.app, household_id)
        found = []
        for name in names:
            category = book.resolve(name)
            if category is None:
                raise NotFoundError(f"no category {name!r}")
            if category.archived:
                raise IllegalTransitionError(f"category {category.name!r} is archived")
            found.append(category.name)
        return found

    def create(self, household_id: UUID, command: CreateBudget, actor: UUID | None) -> Appended:
        budget = Budget.create(
            household_id,
            actor,
            command.name,
            self._categories(household_id, command.categories),
            command.period,
            Money.of(parse_amount(command.limit, command.currency), command.currency),
            rollover=command.rollover,
            thresholds=command.thresholds,
            private=command.private,
        )
        return append(self.app, budget)

    def load(self, household_id: UUID, budget_id: UUID, actor: UUID | None) -> Budget:
        try:
            budget = self.app.repository.get(budget_id)
        except AggregateNotFoundError:
            budget = None
        if not isinstance(budget, Budget) or budget.household_id != household_id:
            raise NotFoundError(f"no budget {budget_id}")
        budget.check_visible_to(actor)
        return budget

    def change(
        self,
        household_id: UUID,
        budget_id: UUID,
        command: ChangeBudget,
        expected: int | None,
        actor: UUID | None,
    ) -> Appended:
        def attempt() -> Appended:
            budget = self.load(household_id, budget_id, actor)
            check_expected_version(self.app, budget, expected)  # type: ignore[arg-type]
            changes: dict[str, Any] = command.changes()
            if "categories" in changes:
                changes["categories"] = self._categories(household_id, list(changes["categories"]))  # type: ignore[arg-type]
            if "limit" in changes:
                currency = budget.limit.currency
                changes["limit"] = Money.of(parse_amount(str(changes["limit"]), currency), currency)
            budget.change(actor, changes)
            return append(self.app, budget)

        return with_retries(attempt)

    def delete(
        self, household_id: UUID, budget_id: UUID, expected: int | None, actor: UUID | None
    ) -> Appended:
        def attempt() -> Appended:
            budget = self.load(household_id, budget_id, actor)
            check_expected_version(self.app, budget, expected)  # type: ignore[arg-type]
            budget.delete(actor)
            return append(self.app, budget)

        return with_retries(attempt)
