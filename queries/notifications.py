"""The in-app inbox, notification preferences, webhooks and delivery states of a person,
always within the caller's household."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import msgspec

from ledger.notifications import DEFAULT_CHANNELS
from queries.db import NOTIFICATIONS_SCHEMA, ReadStore

S = NOTIFICATIONS_SCHEMA


class NotificationView(msgspec.Struct, kw_only=True):
    id: UUID
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: dt.datetime
    read: bool


class InboxView(msgspec.Struct, kw_only=True):
    items: list[NotificationView]
    unread: int
    next_cursor: str | None  # pass as ``before`` for the next (older) page


class PreferencesView(msgspec.Struct, kw_only=True):
    channels: dict[str, list[str]]
    quiet_hours: dict[str, str] | None


class WebhookView(msgspec.Struct, kw_only=True):
    id: UUID
    url: str
    kinds: list[str]
    created_at: dt.datetime


class DeliveryView(msgspec.Struct, kw_only=True):
    id: UUID
    notification_id: UUID
    channel: str
    webhook_id: UUID | None
    kind: str
    status: str  # pending, sending, sent, failed, unknown
    attempts: int
    last_error: str | None
    not_before: dt.datetime
    updated_at: dt.datetime


def inbox(
    reads: ReadStore,
    household_id: UUID,
    user_id: UUID,
    unread_only: bool,
    limit: int,
    before: dt.datetime | None,
) -> InboxView:
    with reads.cursor() as curs:
        curs.execute(
            f"SELECT notification_id AS id, kind, title, body, data, created_at, read FROM {S}.inbox"  # noqa: S608
            " WHERE household_id = %s AND user_id = %s AND (NOT %s OR NOT read)"
            " AND (%s::timestamptz IS NULL OR created_at < %s) ORDER BY created_at DESC, notification_id"
            " LIMIT %s",
            (household_id, user_id, unread_only, before, before, limit + 1),
        )
        rows = curs.fetchall()
    items = [NotificationView(**row) for row in rows[:limit]]
    cursor = items[-1].created_at.isoformat() if len(rows) > limit else None
    return InboxView(items=items, unread=unread(reads, household_id, user_id), next_cursor=cursor)


def unread(reads: ReadStore, household_id: UUID, user_id: UUID) -> int:
    with reads.cursor() as curs:
        curs.execute(
            f"SELECT count(*) AS n FROM {S}.inbox WHERE household_id = %s AND user_id = %s AND NOT read",  # noqa: S608
            (household_id, user_id),
        )
        row = curs.fetchone()
    return int(row["n"]) if row else 0


def unknown_notifications(reads: ReadStore, household_id: UUID, user_id: UUID, ids: list[UUID]) -> list[UUID]:
    """Those of ``ids`` that are not the person's notifications in this household."""
    with reads.cursor() as curs:
        curs.execute(
            f"SELECT notification_id FROM {S}.inbox WHERE household_id = %s AND user_id = %s"  # noqa: S608
            " AND notification_id = ANY(%s)",
            (household_id, user_id, ids),
        )
        known = {row["notification_id"] for row in curs.fetchall()}
    return [i for i in ids if i not in known]


def preferences(reads: ReadStore, user_id: UUID) -> PreferencesView:
    with reads.cursor() as curs:
        curs.execute(f"SELECT channels, quiet_hours FROM {S}.preferences WHERE user_id = %s", (user_id,))  # noqa: S608
        row = curs.fetchone()
    if row is None:
        return PreferencesView(channels={k: list(v) for k, v in DEFAULT_CHANNELS.items()}, quiet_hours=None)
    return PreferencesView(channels=row["channels"], quiet_hours=row["quiet_hours"])


def webhooks(reads: ReadStore, household_id: UUID, user_id: UUID) -> list[WebhookView]:
    with reads.cursor() as curs:
        curs.execute(
            f"SELECT webhook_id AS id, url, kinds, created_at FROM {S}.webhooks"  # noqa: S608
            " WHERE household_id = %s AND user_id = %s AND NOT removed ORDER BY created_at, webhook_id",
            (household_id, user_id),
        )
        return [WebhookView(**row) for row in curs.fetchall()]


def deliveries(reads: ReadStore, household_id: UUID, user_id: UUID, limit: int) -> list[DeliveryView]:
    with reads.cursor() as curs:
        curs.execute(
            "SELECT delivery_id AS id, notification_id, channel, webhook_id, kind, status, attempts,"
            " last_error, not_before, updated_at FROM notify.deliveries"
            " WHERE household_id = %s AND user_id = %s ORDER BY created_at DESC, delivery_id LIMIT %s",
            (household_id, user_id, limit),
        )
        return [DeliveryView(**row) for row in curs.fetchall()]
