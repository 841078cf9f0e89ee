"""Budget endpoints: commands and queries of the household's budgets."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.accounts import DEPENDENCIES, WRITE, IfMatch
from api.consistency import TokenHeader, TokenQuery, read_after
from api.responses import Accepted, accepted, command, expected_version, query
from api.tenancy import Caller
from commands.messages import ChangeBudget, CreateBudget
from queries import audit as audit_q
from queries import budgets as q
from queries.db import BUDGETS_SCHEMA, CATEGORIES_SCHEMA, TRANSACTIONS_SCHEMA
from queries.views import BudgetAlertView, BudgetView

OnQuery = Annotated[
    dt.date | None,
    QueryParameter(required=False, description="Show the period containing this date (default today)."),
]
SCHEMAS = (BUDGETS_SCHEMA, TRANSACTIONS_SCHEMA, CATEGORIES_SCHEMA)


class BudgetCommandHandlers:
    path = "/api/v1/budgets"

    @command(post, "/", "createBudget", 201, guards=WRITE)
    def create(self, data: JSONBody[CreateBudget], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Create a budget: a limit per week, month or year over categories (a group covers
        its subcategories), optionally rolling unspent money over to the next period, with
        alert thresholds in percent. A `private` budget is seen by you only."""
        result = c.run(lambda: c.services.budgets.create(c.household, data, c.user_id))
        return accepted(result, 201, f"{self.path}/{result.id}")

    @command(put, "/{budget_id:uuid}", "changeBudget", guards=WRITE)
    def change(
        self,
        budget_id: FromPath[UUID],
        data: JSONBody[ChangeBudget],
        c: NamedDependency[Caller],
        if_match: IfMatch = None,
    ) -> Response[Accepted]:
        """Change a budget's name, categories, limit, rollover, thresholds or privacy."""
        version = expected_version(if_match)
        change = c.services.budgets.change
        return accepted(c.run(lambda: change(c.household, budget_id, data, version, c.user_id)))

    @command(delete, "/{budget_id:uuid}", "deleteBudget", guards=WRITE)
    def delete_(
        self, budget_id: FromPath[UUID], c: NamedDependency[Caller], if_match: IfMatch = None
    ) -> Response[Accepted]:
        """Delete a budget (its history stays in the event log)."""
        version = expected_version(if_match)
        remove = c.services.budgets.delete
        return accepted(c.run(lambda: remove(c.household, budget_id, version, c.user_id)))


class BudgetQueryHandlers:
    @query("/", "listBudgets")
    def list_(
        self,
        c: NamedDependency[Caller],
        on: OnQuery = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> list[BudgetView]:
        """Your household's budgets (private ones only for their owner), each with its
        current period: available (limit plus rollover), spent, remaining, percent, and
        the thresholds reached. Budget vs actual in one list."""
        read_after(c.services, SCHEMAS, token, after)
        return q.list_budgets(c.services.reads, c.household, c.user_id, on or dt.date.today())

    @query("/{budget_id:uuid}/alerts", "listBudgetAlerts")
    def alerts(
        self,
        budget_id: FromPath[UUID],
        c: NamedDependency[Caller],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> list[BudgetAlertView]:
        """The thresholds this budget reached, once per threshold and period (emitted as
        BudgetThresholdCrossed events by the alerts follower a moment after the spending)."""
        read_after(c.services, SCHEMAS, token, after)
        return q.budget_alerts(c.services.reads, c.household, budget_id, c.user_id)

    @query("/{budget_id:uuid}/changes", "getBudgetChanges")
    def changes(self, budget_id: FromPath[UUID], c: NamedDependency[Caller]) -> list[audit_q.ChangeEntry]:
        """Who changed which field of the budget from what to what, when and why (the
        event, the command, the request's correlation id), oldest first, from the log."""
        c.services.budgets.load(c.household, budget_id, c.user_id)  # 404 unless the caller may see it
        return audit_q.field_changes(c.services.reads, budget_id, lambda budget: budget)

    @query("/{budget_id:uuid}", "getBudget")
    def get_one(
        self,
        budget_id: FromPath[UUID],
        c: NamedDependency[Caller],
        on: OnQuery = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> BudgetView:
        """One budget with the period containing `on` (default today)."""
        read_after(c.services, SCHEMAS, token, after)
        return q.get_budget(c.services.reads, c.household, budget_id, c.user_id, on or dt.date.today())


class BudgetController(BudgetCommandHandlers, BudgetQueryHandlers, Controller):
    path = "/api/v1/budgets"
    tags = ["budgets"]
    dependencies = DEPENDENCIES
