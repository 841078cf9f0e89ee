"""Schedules, their occurrences, the upcoming calendar, and the lookups of the schedule run
(what is due, which payment settles a bill). A schedule on an account hidden from the
viewer is not shown to them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from ledger.errors import NotFoundError
from ledger.schedule import Frequency, Schedule, next_occurrence
from queries.db import SCHEDULES_SCHEMA, TRANSACTIONS_SCHEMA, ReadStore
from queries.transactions import hidden_accounts

S = SCHEDULES_SCHEMA
UNCOUNTED = ("cancelled", "voided", "expired", "reverted")


class OccurrenceView(msgspec.Struct, kw_only=True):
    due: dt.date
    outcome: str  # generated, paid, missed; "expected" for one still to come
    transaction_id: UUID | None = None


class ScheduleView(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    mode: str
    account_id: UUID
    kind: str
    amount: str
    currency: str
    description: str
    merchant: str | None
    category: str | None
    frequency: str
    every: int
    day: int
    start: dt.date
    end: dt.date | None
    grace_days: int
    tolerance: int
    next_due: dt.date | None  # null when the schedule has ended
    owner_id: UUID | None
    version: int
    recent: list[OccurrenceView] = msgspec.field(default_factory=list)


class UpcomingView(msgspec.Struct, kw_only=True):
    schedule_id: UUID
    name: str
    mode: str
    due: dt.date
    amount: str
    currency: str
    account_id: UUID


def _view(row: dict[str, Any], recent: list[OccurrenceView]) -> ScheduleView:
    fields = {name: row[name] for name in ScheduleView.__struct_fields__ if name in row}
    fields.update(id=row["schedule_id"], amount=str(row["amount"]), recent=recent)
    return ScheduleView(**fields)


def _rows(curs: Any, household_id: UUID, viewer: UUID | None, extra: str = "", *params: Any) -> list[Any]:
    curs.execute(
        f"SELECT * FROM {S}.schedules WHERE household_id = %s AND NOT deleted"  # noqa: S608
        f" AND account_id <> ALL(%s) {extra} ORDER BY name, schedule_id",
        (household_id, hidden_accounts(curs, household_id, viewer), *params),
    )
    return curs.fetchall()


def _recent(curs: Any, schedule_id: UUID, limit: int) -> list[OccurrenceView]:
    curs.execute(
        f"SELECT due, outcome, transaction_id FROM {S}.occurrences WHERE schedule_id = %s"  # noqa: S608
        " ORDER BY due DESC LIMIT %s",
        (schedule_id, limit),
    )
    return [OccurrenceView(**row) for row in curs.fetchall()]


def list_schedules(reads: ReadStore, household_id: UUID, viewer: UUID | None) -> list[ScheduleView]:
    with reads.cursor() as curs:
        return [_view(row, _recent(curs, row["schedule_id"], 3)) for row in _rows(curs, household_id, viewer)]


def get_schedule(
    reads: ReadStore, household_id: UUID, schedule_id: UUID, viewer: UUID | None
) -> ScheduleView:
    with reads.cursor() as curs:
        rows = _rows(curs, household_id, viewer, "AND schedule_id = %s", schedule_id)
        if not rows:
            raise NotFoundError(f"no schedule {schedule_id}")
        return _view(rows[0], _recent(curs, schedule_id, 24))


def upcoming(
    reads: ReadStore, household_id: UUID, viewer: UUID | None, today: dt.date, days: int
) -> list[UpcomingView]:
    """Every occurrence from ``today`` for ``days`` days, by date (bills and generated ones)."""
    until = today + dt.timedelta(days=days)
    items = []
    with reads.cursor() as curs:
        for row in _rows(curs, household_id, viewer, "AND next_due IS NOT NULL AND next_due <= %s", until):
            on = row["next_due"]
            while on is not None and on <= until:
                if on >= today:
                    items.append(_upcoming(row, on))
                on = next_occurrence(
                    Frequency(row["frequency"]), row["every"], row["start"], row["day"], on, row["end"]
                )
    return sorted(items, key=lambda item: (item.due, item.name))


def _upcoming(row: dict[str, Any], on: dt.date) -> UpcomingView:
    return UpcomingView(
        schedule_id=row["schedule_id"], name=row["name"], mode=row["mode"], due=on,
        amount=str(row["amount"]), currency=row["currency"], account_id=row["account_id"],
    )  # fmt: skip


def due_schedules(reads: ReadStore, today: dt.date) -> list[tuple[UUID, UUID]]:
    """(household, schedule) of every schedule whose next occurrence is due or whose bill
    window is open, oldest first."""
    with reads.cursor() as curs:
        curs.execute(
            f"SELECT household_id, schedule_id FROM {S}.schedules WHERE NOT deleted"  # noqa: S608
            " AND next_due - CASE WHEN mode = 'bill' THEN grace_days ELSE 0 END <= %s ORDER BY next_due",
            (today,),
        )
        return [(row["household_id"], row["schedule_id"]) for row in curs.fetchall()]


def matching_payment(reads: ReadStore, schedule: Schedule, due: dt.date) -> UUID | None:
    """The payment that settles a bill's occurrence: same account and kind, dated within the
    grace days, the amount within the tolerance, naming the merchant (if the bill has one),
    and not the payment of another occurrence. The closest in date, then amount, wins."""
    amount = schedule.amount.amount
    slack = amount * Decimal(schedule.tolerance) / 100
    grace = dt.timedelta(days=schedule.grace_days)
    needle = (schedule.merchant or "").casefold()
    with reads.cursor() as curs:
        curs.execute(
            f"SELECT transaction_id FROM {TRANSACTIONS_SCHEMA}.transactions t"  # noqa: S608
            " WHERE household_id = %s AND %s = ANY(account_ids) AND kind = %s AND status <> ALL(%s)"
            " AND date BETWEEN %s AND %s AND abs(amount) BETWEEN %s AND %s"
            " AND (%s = '' OR position(%s IN lower(coalesce(merchant, '') || ' ' || description)) > 0)"
            f" AND NOT EXISTS (SELECT 1 FROM {S}.occurrences o"
            "   WHERE o.schedule_id = %s AND o.transaction_id = t.transaction_id)"
            " ORDER BY abs(date - %s), abs(abs(amount) - %s), transaction_id LIMIT 1",
            (
                schedule.household_id, schedule.account_id, str(schedule.kind), list(UNCOUNTED),
                due - grace, due + grace, amount - slack, amount + slack, needle, needle,
                schedule.id, due, amount,
            ),
        )  # fmt: skip
        row = curs.fetchone()
    return row["transaction_id"] if row else None
