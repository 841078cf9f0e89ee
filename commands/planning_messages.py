"""Command messages of schedules (recurring transactions and bills), balance monitors and
notification settings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from commands.messages import (
    Category,
    Change,
    Command,
    Currency,
    Name,
    PositiveAmount,
    Text,
)

SignedAmount = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$",
        description='A decimal string, negative allowed ("-500.00" for a credit card), never a JSON number.',
        examples=["100.00"],
    ),
]
Every = Annotated[int, msgspec.Meta(ge=1, le=52, description="Every how many weeks, months or years.")]
GraceDays = Annotated[int, msgspec.Meta(ge=0, le=30)]
Tolerance = Annotated[
    int, msgspec.Meta(ge=0, le=100, description="Percent either way a bill's payment may differ.")
]
KindName = Literal["budget.threshold", "balance.threshold", "bill.missed"]
ChannelName = Literal["in_app", "email", "webhook"]
ClockTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["22:00"])]


class CreateSchedule(Command, kw_only=True):
    """A recurring transaction (``generate``: recorded on each date) or a bill (``bill``:
    a payment is expected near each date, and flagged when it does not come)."""

    name: Name
    mode: Literal["generate", "bill"] = "generate"
    account_id: UUID
    kind: Literal["expense", "income"] = "expense"
    amount: PositiveAmount
    description: Text = ""
    merchant: Text | None = None
    category: Category | None = None
    frequency: Literal["weekly", "monthly", "yearly"] = "monthly"
    every: Every = 1
    day: Annotated[int, msgspec.Meta(ge=1, le=31)] | None = None  # monthly: day of the month
    start: dt.date
    end: dt.date | None = None
    grace_days: GraceDays = 3
    tolerance: Tolerance = 10


class ChangeSchedule(Change, kw_only=True):
    """Change a schedule's terms; its recurrence stays (delete it and create another)."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    amount: PositiveAmount | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType = msgspec.UNSET
    merchant: Text | msgspec.UnsetType | None = msgspec.UNSET
    category: Category | msgspec.UnsetType | None = msgspec.UNSET
    end: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    grace_days: GraceDays | msgspec.UnsetType = msgspec.UNSET
    tolerance: Tolerance | msgspec.UnsetType = msgspec.UNSET


class CreateMonitor(Command, kw_only=True):
    """Alert me when this account's balance goes below (or above) the threshold."""

    account_id: UUID
    name: Name = "Balance alert"
    threshold: SignedAmount
    direction: Literal["below", "above"] = "below"


class ChangeMonitor(Change, kw_only=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    threshold: SignedAmount | msgspec.UnsetType = msgspec.UNSET
    direction: Literal["below", "above"] | msgspec.UnsetType = msgspec.UNSET


class QuietHours(Command, kw_only=True):
    start: ClockTime
    end: ClockTime
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Europe/Berlin"])]


class ChangePreferences(Change, kw_only=True):
    """Which kinds reach you on which channels, and quiet hours (emails wait until they end)."""

    channels: dict[KindName, list[ChannelName]] | msgspec.UnsetType = msgspec.UNSET
    quiet_hours: QuietHours | msgspec.UnsetType | None = msgspec.UNSET


class AddWebhook(Command, kw_only=True):
    """POST your notifications of these kinds to a URL, signed with HMAC-SHA256."""

    url: Annotated[str, msgspec.Meta(min_length=8, max_length=2000, examples=["https://example.org/hook"])]
    kinds: Annotated[list[KindName], msgspec.Meta(min_length=1, max_length=3)]


class MarkRead(Command, kw_only=True):
    notification_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=200)]


__all__ = [
    "AddWebhook",
    "ChangeMonitor",
    "ChangePreferences",
    "ChangeSchedule",
    "CreateMonitor",
    "CreateSchedule",
    "Currency",
    "MarkRead",
    "QuietHours",
]
