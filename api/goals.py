"""Savings goal endpoints."""

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
from commands.messages import ChangeGoal, CreateGoal
from queries import goals as q
from queries.db import ACCOUNTS_SCHEMA, GOALS_SCHEMA
from queries.views import GoalView

TodayQuery = Annotated[
    dt.date | None, QueryParameter(required=False, description="Project from this day (default today).")
]
SCHEMAS = (GOALS_SCHEMA, ACCOUNTS_SCHEMA)


class GoalCommandHandlers:
    path = "/api/v1/goals"

    @command(post, "/", "createGoal", 201, guards=WRITE)
    def create(self, data: JSONBody[CreateGoal], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Create a savings goal: a target amount (optionally by `target_date`) in accounts
        of the household (in the goal's currency); their balances are its progress."""
        result = c.run(lambda: c.services.goals.create(c.household, data, c.user_id))
        return accepted(result, 201, f"{self.path}/{result.id}")

    @command(put, "/{goal_id:uuid}", "changeGoal", guards=WRITE)
    def change(
        self,
        goal_id: FromPath[UUID],
        data: JSONBody[ChangeGoal],
        c: NamedDependency[Caller],
        if_match: IfMatch = None,
    ) -> Response[Accepted]:
        """Change a goal's name, target, date or accounts."""
        version = expected_version(if_match)
        change = c.services.goals.change
        return accepted(c.run(lambda: change(c.household, goal_id, data, version, c.user_id)))

    @command(delete, "/{goal_id:uuid}", "deleteGoal", guards=WRITE)
    def delete_(self, goal_id: FromPath[UUID], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Delete a goal (the accounts and their money stay)."""
        return accepted(c.run(lambda: c.services.goals.delete(c.household, goal_id, c.user_id)))


class GoalQueryHandlers:
    @query("/", "listGoals")
    def list_(
        self,
        c: NamedDependency[Caller],
        today: TodayQuery = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> list[GoalView]:
        """Goals with their progress: saved, remaining, percent, the saving rate of the last
        90 days, the projected completion date, and whether that meets the target date."""
        read_after(c.services, SCHEMAS, token, after)
        return q.list_goals(c.services.reads, c.household, c.user_id, today or dt.date.today())

    @query("/{goal_id:uuid}", "getGoal")
    def get_one(
        self,
        goal_id: FromPath[UUID],
        c: NamedDependency[Caller],
        today: TodayQuery = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> GoalView:
        """One goal with its progress."""
        read_after(c.services, SCHEMAS, token, after)
        return q.get_goal(c.services.reads, c.household, goal_id, c.user_id, today or dt.date.today())


class GoalController(GoalCommandHandlers, GoalQueryHandlers, Controller):
    path = "/api/v1/goals"
    tags = ["goals"]
    dependencies = DEPENDENCIES
