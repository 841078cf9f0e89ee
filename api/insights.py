"""Insight endpoints: unusual expenses and recurring payments, from the transactions read model."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Request
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from api.accounts import DEPENDENCIES
from api.cache import cached
from api.consistency import TokenHeader, TokenQuery
from api.responses import cached_query
from api.tenancy import Caller
from queries import insights as q
from queries import recurring as r
from queries.db import TRANSACTIONS_SCHEMA

SCHEMAS = (TRANSACTIONS_SCHEMA,)
TodayQuery = Annotated[
    dt.date | None, QueryParameter(required=False, description="Look back from this day (default today).")
]
DaysQuery = Annotated[
    int,
    QueryParameter(
        ge=1, le=366, description="The window judged: the last `days` days up to `today` (1-366, default 30)."
    ),
]
HistoryQuery = Annotated[
    int,
    QueryParameter(
        ge=30,
        le=3650,
        description="Days of history before the window to compare with (30-3650, default 365).",
    ),
]
LimitQuery = Annotated[
    int, QueryParameter(ge=1, le=q.MAX_LIMIT, description="At most this many expenses (1-500, default 50).")
]
LookbackQuery = Annotated[
    int,
    QueryParameter(
        ge=14,
        le=3650,
        description="Days up to `today` to look for payments in (14-3650, default 800: a cadence"
        " needs three payments, so a yearly one needs more than two years).",
    ),
]


class InsightQueryHandlers:
    @cached_query("/unusual", "listUnusualExpenses")
    async def unusual(
        self,
        request: Request[Any, Any, Any],
        c: NamedDependency[Caller],
        today: TodayQuery = None,
        days: DaysQuery = 30,
        lookback: HistoryQuery = 365,
        limit: LimitQuery = 50,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> q.UnusualReport:
        """Expenses of the window that are unusually HIGH for their category or their merchant
        (the merchant, else the description without numbers), in the same currency. Each is
        compared with the group's expenses in the `lookback` days before the window by the
        modified z-score 0.6745 * (amount - median) / MAD (median absolute deviation), and
        flagged above 3.5 (Iglewicz and Hoaglin). When the MAD is 0 the scale is 1.253314
        times the mean absolute deviation; when every earlier amount is the same, an expense
        is flagged from twice that amount. Groups with fewer than 5 earlier expenses are not
        judged. Low amounts are never flagged: they cost nothing. Each expense appears once,
        with every reason, highest score first."""
        day = today or dt.date.today()
        compute = partial(
            q.unusual_expenses, c.services.reads, c.household, c.user_id, day, days, lookback, limit
        )
        params = {"day": day, "days": days, "lookback": lookback, "limit": limit}
        return await cached(request, c, SCHEMAS, "unusual", params, compute, q.UnusualReport, (token, after))

    @cached_query("/subscriptions", "listRecurringPayments")
    async def subscriptions(
        self,
        request: Request[Any, Any, Any],
        c: NamedDependency[Caller],
        today: TodayQuery = None,
        lookback: LookbackQuery = 800,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> r.RecurringReport:
        """Recurring payments: three or more expenses to one merchant (or description) in one
        currency whose median interval is weekly (7±1 days), fortnightly (14±2), monthly
        (28-33), quarterly (91±7) or yearly (365±10), with at least 75 % of the intervals
        fitting. `subscription` is true when at least 75 % of the amounts are within 10 % of
        their median, false for varying amounts (utility bills). Each comes with the next
        expected date, whether it is still active (not overdue by more than the cadence's
        tolerance), whether the latest amount changed, and its monthly cost (the median amount
        times payments per year over 12, rounded half up), highest monthly cost first."""
        day = today or dt.date.today()
        compute = partial(r.recurring_payments, c.services.reads, c.household, c.user_id, day, lookback)
        params = {"day": day, "lookback": lookback}
        tokens = (token, after)
        return await cached(request, c, SCHEMAS, "subscriptions", params, compute, r.RecurringReport, tokens)


class InsightController(InsightQueryHandlers, Controller):
    path = "/api/v1/insights"
    tags = ["insights"]
    dependencies = DEPENDENCIES
