"""Goals with their progress. A goal that includes an account hidden from the viewer is not
shown to that viewer (its progress would tell that account's balance)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.errors import NotFoundError
from ledger.money import MINOR_UNITS
from queries.db import ACCOUNTS_SCHEMA, GOALS_SCHEMA, TRANSACTIONS_SCHEMA, ReadStore
from queries.views import GoalView

WINDOW_DAYS = 90
VISIBLE = (
    f"NOT EXISTS (SELECT 1 FROM {TRANSACTIONS_SCHEMA}.account_access a"  # noqa: S608
    " WHERE a.account_id = ANY(g.account_ids)"
    " AND %s::uuid IS NOT NULL AND a.owner_id IS DISTINCT FROM %s"
    " AND coalesce(a.member_access ->> %s, a.default_access) = 'none')"
)


def _money(value: Decimal, currency: str) -> str:
    places = Decimal(1).scaleb(-MINOR_UNITS[currency])
    return str(value.quantize(places))


def _view(curs: Any, row: dict[str, Any], today: dt.date) -> GoalView:
    accounts = list(row["account_ids"])
    curs.execute(
        f"SELECT coalesce(sum(balance), 0) AS saved FROM {ACCOUNTS_SCHEMA}.accounts"  # noqa: S608
        " WHERE account_id = ANY(%s)",
        (accounts,),
    )
    saved = Decimal(curs.fetchone()["saved"])
    curs.execute(
        f"SELECT coalesce(sum(amount), 0) AS inflow FROM {ACCOUNTS_SCHEMA}.postings"  # noqa: S608
        " WHERE household_id = %s AND account = ANY(%s) AND status <> 'cancelled'"
        " AND date > %s AND date <= %s",
        (row["household_id"], [str(a) for a in accounts], today - dt.timedelta(days=WINDOW_DAYS), today),
    )
    per_day = Decimal(curs.fetchone()["inflow"]) / WINDOW_DAYS
    target, currency = Decimal(row["amount"]), row["currency"]
    remaining = max(Decimal(0), target - saved)
    achieved = remaining == 0
    projected = None
    if not achieved and per_day > 0:
        projected = today + dt.timedelta(days=math.ceil(remaining / per_day))
    on_track, needed = None, None
    if row["target_date"] is not None:
        on_track = achieved or (projected is not None and projected <= row["target_date"])
        months = max(Decimal(1), Decimal((row["target_date"] - today).days) / 30)
        needed = _money(remaining / months, currency)
    return GoalView(
        id=row["goal_id"],
        name=row["name"],
        target=_money(target, currency),
        currency=currency,
        target_date=row["target_date"],
        account_ids=accounts,
        saved=_money(saved, currency),
        remaining=_money(remaining, currency),
        percent=round(float(min(saved, target) * 100 / target), 2) if saved > 0 else 0.0,
        achieved=achieved,
        saving_per_month=_money(per_day * 30, currency),
        projected_date=projected,
        on_track=on_track,
        needed_per_month=needed,
        owner_id=row["owner_id"],
        version=row["version"],
    )


def list_goals(store: ReadStore, household_id: UUID, viewer: UUID | None, today: dt.date) -> list[GoalView]:
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {GOALS_SCHEMA}.goals g WHERE household_id = %s AND NOT deleted AND {VISIBLE}"  # noqa: S608
            " ORDER BY name, goal_id",
            (household_id, viewer, viewer, str(viewer)),
        )
        return [_view(curs, row, today) for row in curs.fetchall()]


def get_goal(
    store: ReadStore, household_id: UUID, goal_id: UUID, viewer: UUID | None, today: dt.date
) -> GoalView:
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {GOALS_SCHEMA}.goals g WHERE household_id = %s AND goal_id = %s"  # noqa: S608
            f" AND NOT deleted AND {VISIBLE}",
            (household_id, goal_id, viewer, viewer, str(viewer)),
        )
        row = curs.fetchone()
        if row is None:
            raise NotFoundError(f"no goal {goal_id}")
        return _view(curs, row, today)
