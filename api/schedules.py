"""Recurring transactions and bills: schedules, their occurrences, the upcoming calendar."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.accounts import DEPENDENCIES, WRITE
from api.consistency import TokenHeader, TokenQuery, read_after
from api.responses import Accepted, accepted, command, query
from api.tenancy import Caller
from commands.planning_messages import ChangeSchedule, CreateSchedule
from queries import schedules as q
from queries.db import SCHEDULES_SCHEMA, TRANSACTIONS_SCHEMA

SCHEMAS = (SCHEDULES_SCHEMA, TRANSACTIONS_SCHEMA)
Days = Annotated[int, QueryParameter(ge=1, le=366, description="How many days ahead.")]
Today = Annotated[
    dt.date | None, QueryParameter(required=False, description="From this day (default today).")
]


class ScheduleController(Controller):
    path = "/api/v1/schedules"
    tags = ["schedules"]
    dependencies = DEPENDENCIES

    @command(post, "/", "createSchedule", 201, guards=WRITE)
    def create(self, data: JSONBody[CreateSchedule], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Create a schedule on an account you may write to. `generate` records the
        transaction on each date (once per date, also across restarts; tagged `scheduled`);
        `bill` expects a payment within `grace_days` of each date and within `tolerance` % of
        the amount (naming `merchant`, if given), and flags the date as missed otherwise.
        Monthly schedules fall on `day` (default: the start's day; the last day of a shorter
        month); weekly ones every `every` weeks from `start`."""
        result = c.run(lambda: c.services.schedules.create(c.household, data, c.user_id))
        return accepted(result, 201, f"{self.path}/{result.id}")

    @command(put, "/{schedule_id:uuid}", "changeSchedule", guards=WRITE)
    def change(
        self, schedule_id: FromPath[UUID], data: JSONBody[ChangeSchedule], c: NamedDependency[Caller]
    ) -> Response[Accepted]:
        """Change a schedule's amount, texts, end or bill terms (its recurrence stays)."""
        change = c.services.schedules.change
        return accepted(c.run(lambda: change(c.household, schedule_id, data, c.user_id)))

    @command(delete, "/{schedule_id:uuid}", "deleteSchedule", guards=WRITE)
    def delete_(self, schedule_id: FromPath[UUID], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Stop a schedule; the transactions it generated stay."""
        return accepted(c.run(lambda: c.services.schedules.delete(c.household, schedule_id, c.user_id)))

    @query("/", "listSchedules")
    def list_(
        self, c: NamedDependency[Caller], token: TokenHeader = None, after: TokenQuery = None
    ) -> list[q.ScheduleView]:
        """Schedules with their next date and their last three occurrences."""
        read_after(c.services, SCHEMAS, token, after)
        return q.list_schedules(c.services.reads, c.household, c.user_id)

    @query("/upcoming", "upcomingOccurrences")
    def upcoming(
        self,
        c: NamedDependency[Caller],
        days: Days = 30,
        today: Today = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> list[q.UpcomingView]:
        """Every occurrence of every schedule in the next `days` days, by date: the bills
        calendar."""
        read_after(c.services, SCHEMAS, token, after)
        return q.upcoming(c.services.reads, c.household, c.user_id, today or dt.date.today(), days)

    @query("/{schedule_id:uuid}", "getSchedule")
    def get_one(
        self,
        schedule_id: FromPath[UUID],
        c: NamedDependency[Caller],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> q.ScheduleView:
        """One schedule with its last 24 occurrences (generated, paid or missed)."""
        read_after(c.services, SCHEMAS, token, after)
        return q.get_schedule(c.services.reads, c.household, schedule_id, c.user_id)
