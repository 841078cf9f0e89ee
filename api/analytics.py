"""Analytics endpoints: spending, budget vs actual, goals, trends, the dashboard, reports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, QueryParameter

from api.accounts import DEPENDENCIES
from api.cache import cached
from api.consistency import TokenHeader, TokenQuery, read_after
from api.responses import COMMON_PROBLEMS, cached_query, query
from api.tenancy import Caller
from commands.messages import Category, Currency
from ledger.money import MINOR_UNITS
from queries import accounts as accounts_q
from queries import analytics as q
from queries import budgets as budgets_q
from queries import goals as goals_q
from queries import notifications as notifications_q
from queries import schedules as schedules_q
from queries import transactions as transactions_q
from queries.db import (
    ACCOUNTS_SCHEMA,
    BUDGETS_SCHEMA,
    GOALS_SCHEMA,
    NOTIFICATIONS_SCHEMA,
    SCHEDULES_SCHEMA,
    TRANSACTIONS_SCHEMA,
)
from queries.views import AccountView, BudgetView, GoalView, TransactionView

SCHEMAS = (TRANSACTIONS_SCHEMA, ACCOUNTS_SCHEMA, BUDGETS_SCHEMA, GOALS_SCHEMA)
DASHBOARD_SCHEMAS = (*SCHEMAS, SCHEDULES_SCHEMA, NOTIFICATIONS_SCHEMA)
UPCOMING_DAYS = 7
GroupName = Literal["category", "merchant", "account", "kind", "month", "week", "day", "currency"]
CurrencyQuery = Annotated[
    str | None,
    QueryParameter(
        required=False, pattern=r"^[A-Z]{3}$", description="Report currency (default: most accounts')"
    ),
]


def this_month() -> tuple[dt.date, dt.date]:
    today = dt.date.today()
    return today.replace(day=1), today


class ReportRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A report: group the transactions the filters select by up to three fields."""

    group_by: Annotated[list[GroupName], msgspec.Meta(min_length=1, max_length=3)]
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    kind: Literal["expense", "income", "transfer"] | None = "expense"
    account_id: UUID | None = None
    category: Category | None = None
    currency: Currency | None = None
    format: Literal["json", "csv"] = "json"


class CategoryShare(msgspec.Struct, kw_only=True):
    category: str
    amount: str
    share: float  # percent of the month's spending


class MonthSummary(msgspec.Struct, kw_only=True):
    start: dt.date
    spent: str
    earned: str
    top_categories: list[CategoryShare]


class Dashboard(msgspec.Struct, kw_only=True):
    """Everything a client's home screen shows, in one call."""

    currency: str
    accounts: list[AccountView]
    this_month: MonthSummary
    budgets: list[BudgetView]
    goals: list[GoalView]
    recent: list[TransactionView]
    rates: list[q.Rate]
    upcoming: list[schedules_q.UpcomingView]  # scheduled transactions and bills of the next 7 days
    unread_notifications: int


class AnalyticsHandlers:
    @cached_query("/spending", "analyticsSpending")
    async def spending(
        self,
        request: Request[Any, Any, Any],
        c: NamedDependency[Caller],
        group_by: Annotated[GroupName, QueryParameter(required=False)] = "category",
        date_from: FromQuery[dt.date | None] = None,
        date_to: FromQuery[dt.date | None] = None,
        kind: FromQuery[Literal["expense", "income"]] = "expense",
        account_id: FromQuery[UUID | None] = None,
        currency: CurrencyQuery = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> q.Report:
        """Spending (or income) grouped by category, merchant, account, month, week or day,
        largest first (periods in order); default: this month by category."""
        start, end = this_month()
        filters = q.Filters(
            date_from=date_from or start, date_to=date_to or end, kind=kind, account_id=account_id
        )

        def compute() -> q.Report:
            money = currency or q.main_currency(c.services.reads, c.household)
            return q.report(c.services.reads, c.household, [group_by], filters, money, c.user_id)

        params = {"group_by": group_by, "filters": filters, "currency": currency}
        return await cached(request, c, SCHEMAS, "spending", params, compute, q.Report, (token, after))

    @query("/budget", "analyticsBudget")
    def budget(
        self,
        c: NamedDependency[Caller],
        on: FromQuery[dt.date | None] = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> list[BudgetView]:
        """Budget vs actual: each budget's period containing `on` (default today)."""
        read_after(c.services, SCHEMAS, token, after)
        return budgets_q.list_budgets(c.services.reads, c.household, c.user_id, on or dt.date.today())

    @query("/goals", "analyticsGoals")
    def goals(
        self, c: NamedDependency[Caller], token: TokenHeader = None, after: TokenQuery = None
    ) -> list[GoalView]:
        """Goals with progress and projected completion."""
        read_after(c.services, SCHEMAS, token, after)
        return goals_q.list_goals(c.services.reads, c.household, c.user_id, dt.date.today())

    @cached_query("/trends", "analyticsTrends")
    async def trends(
        self,
        request: Request[Any, Any, Any],
        c: NamedDependency[Caller],
        months: Annotated[int, QueryParameter(ge=1, le=60)] = 12,
        until: FromQuery[dt.date | None] = None,
        currency: CurrencyQuery = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> q.Trends:
        """Month by month: spent, earned, net, the change of spending against the month
        before, and its rolling three-month average."""
        day = until or dt.date.today()

        def compute() -> q.Trends:
            money = currency or q.main_currency(c.services.reads, c.household)
            return q.trends(c.services.reads, c.household, money, months, day, c.user_id)

        params = {"months": months, "until": day, "currency": currency}
        return await cached(request, c, SCHEMAS, "trends", params, compute, q.Trends, (token, after))

    @cached_query("/dashboard", "analyticsDashboard")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        c: NamedDependency[Caller],
        today: FromQuery[dt.date | None] = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> Dashboard:
        """One call for a home screen: accounts and balances, this month's spending and
        income with the top categories, budgets, goals, the latest transactions, the
        scheduled transactions and bills of the next 7 days, and your unread notifications."""
        day = today or dt.date.today()
        compute = partial(dashboard_of, c, day)
        tokens = (token, after)
        return await cached(
            request, c, DASHBOARD_SCHEMAS, "dashboard", {"day": day}, compute, Dashboard, tokens
        )

    @post(
        "/reports",
        operation_id="analyticsReport",
        status_code=200,
        sync_to_thread=True,
        responses=COMMON_PROBLEMS,
    )
    def report(
        self, data: JSONBody[ReportRequest], c: NamedDependency[Caller]
    ) -> Response[q.Report] | Response[bytes]:
        """A report of your own: group by up to three of category, merchant, account, kind,
        month, week, day and currency, over the transactions the filters select, as JSON
        or CSV (nothing is stored)."""
        filters = q.Filters(
            date_from=data.date_from, date_to=data.date_to, kind=data.kind, account_id=data.account_id,
            category=data.category,
        )  # fmt: skip
        money = data.currency or q.main_currency(c.services.reads, c.household)
        result = q.report(c.services.reads, c.household, list(data.group_by), filters, money, c.user_id)
        if data.format == "json":
            return Response(result)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([*data.group_by, "amount", "count", "currency"])
        for row in result.rows:
            writer.writerow([*row.key, row.amount, row.count, result.currency])
        return Response(out.getvalue().encode(), media_type="text/csv; charset=utf-8")


class AnalyticsController(AnalyticsHandlers, Controller):
    path = "/api/v1/analytics"
    tags = ["analytics"]
    dependencies = DEPENDENCIES


def dashboard_of(c: Caller, day: dt.date) -> Dashboard:
    """The home screen's answer (blocking: run in a thread)."""
    reads, household, viewer = c.services.reads, c.household, c.user_id
    start = day.replace(day=1)
    money = q.main_currency(reads, household)
    with reads.cursor() as curs:
        rates = q.recorded_rates(curs, household, money)
    month_filter = q.Filters(date_from=start, date_to=day, kind=None)
    month = q.report(reads, household, ["kind", "category"], month_filter, money, viewer, rates=rates)
    by_kind: dict[str, Decimal] = defaultdict(Decimal)
    for row in month.rows:
        by_kind[row.key[0]] += Decimal(row.amount)
    spending = [r for r in month.rows if r.key[0] == "expense"][:5]  # largest first
    total = float(by_kind["expense"]) or 1.0
    places = Decimal(1).scaleb(-MINOR_UNITS[money])
    return Dashboard(
        currency=money,
        accounts=accounts_q.list_accounts(reads, household, viewer),
        this_month=MonthSummary(
            start=start,
            spent=str(by_kind["expense"].quantize(places)),
            earned=str(by_kind["income"].quantize(places)),
            top_categories=[
                CategoryShare(
                    category=r.key[1], amount=r.amount, share=round(float(r.amount) * 100 / total, 2)
                )
                for r in spending
            ],
        ),
        budgets=budgets_q.list_budgets(reads, household, viewer, day),
        goals=goals_q.list_goals(reads, household, viewer, day),
        recent=transactions_q.list_transactions(
            reads, household, transactions_q.TransactionFilter(), 5, None, viewer
        ).items,
        rates=month.rates,
        upcoming=schedules_q.upcoming(reads, household, viewer, day, UPCOMING_DAYS),
        unread_notifications=notifications_q.unread(reads, household, viewer),
    )
