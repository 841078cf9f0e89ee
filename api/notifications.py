"""Notifications: the in-app inbox, preferences, webhooks and delivery states."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, delete, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.accounts import DEPENDENCIES
from api.consistency import TokenHeader, TokenQuery, read_after
from api.responses import Accepted, accepted, command, query
from api.tenancy import Caller
from commands.planning_messages import AddWebhook, ChangePreferences, MarkRead
from queries import notifications as q
from queries.db import NOTIFICATIONS_SCHEMA

SCHEMAS = (NOTIFICATIONS_SCHEMA,)
Limit = Annotated[int, QueryParameter(ge=1, le=200, description="At most this many, newest first.")]
Before = Annotated[
    dt.datetime | None, QueryParameter(required=False, description="The `next_cursor` of the previous page.")
]


class WebhookAdded(msgspec.Struct, kw_only=True):
    """The webhook, and its signing secret: shown this once, keep it."""

    id: UUID
    secret: str
    consistency_token: int


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]
    dependencies = DEPENDENCIES

    @query("/", "listNotifications")
    def inbox(
        self,
        c: NamedDependency[Caller],
        unread_only: Annotated[bool, QueryParameter(description="Only the unread ones.")] = False,
        limit: Limit = 50,
        before: Before = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> q.InboxView:
        """Your in-app inbox in this household, newest first, and how many are unread.
        Kinds: `budget.threshold`, `balance.threshold`, `bill.missed`."""
        read_after(c.services, SCHEMAS, token, after)
        return q.inbox(c.services.reads, c.household, c.user_id, unread_only, limit, before)

    @command(post, "/read", "markNotificationsRead")
    def mark_read(self, data: JSONBody[MarkRead], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Mark some of your notifications read (404 if one is not yours)."""
        return accepted(c.run(lambda: c.services.notifications.mark_read(c.household, c.user_id, data)))

    @command(post, "/read-all", "markAllNotificationsRead")
    def mark_all_read(self, c: NamedDependency[Caller]) -> Response[Accepted]:
        """Mark every notification you have in this household read."""
        return accepted(c.run(lambda: c.services.notifications.mark_all_read(c.household, c.user_id)))

    @query("/preferences", "getNotificationPreferences")
    def get_preferences(
        self, c: NamedDependency[Caller], token: TokenHeader = None, after: TokenQuery = None
    ) -> q.PreferencesView:
        """Which kinds reach you on which channels (`in_app`, `email`, `webhook`), and your
        quiet hours."""
        read_after(c.services, SCHEMAS, token, after)
        return q.preferences(c.services.reads, c.user_id)

    @command(put, "/preferences", "changeNotificationPreferences")
    def change_preferences(
        self, data: JSONBody[ChangePreferences], c: NamedDependency[Caller]
    ) -> Response[Accepted]:
        """Choose channels per kind (kinds left out keep theirs; all channels by default) and
        quiet hours (`null`: none). Emails that fall in quiet hours are sent when they end;
        the inbox and webhooks are not held."""
        return accepted(c.run(lambda: c.services.notifications.change_preferences(c.user_id, data)))

    @query("/webhooks", "listWebhooks")
    def list_webhooks(
        self, c: NamedDependency[Caller], token: TokenHeader = None, after: TokenQuery = None
    ) -> list[q.WebhookView]:
        """Your webhooks in this household (never their secrets)."""
        read_after(c.services, SCHEMAS, token, after)
        return q.webhooks(c.services.reads, c.household, c.user_id)

    @command(post, "/webhooks", "addWebhook", 201)
    def add_webhook(self, data: JSONBody[AddWebhook], c: NamedDependency[Caller]) -> WebhookAdded:
        """POST your notifications of these kinds to `url` as JSON, signed as Standard
        Webhooks do: headers `webhook-id` (dedupe by it), `webhook-timestamp` and
        `webhook-signature` = `v1,` + base64 HMAC-SHA256 with the secret (base64 after
        `whsec_`) of `id.timestamp.body`. A 2xx answer delivers it; 408, 429, 5xx or no
        connection retry with exponential back-off; a timeout is never retried (at most
        once). The secret is in this answer only (no Idempotency-Key replay holds it)."""
        appended, webhook_id, secret = c.services.notifications.add_webhook(c.household, c.user_id, data)
        return WebhookAdded(id=webhook_id, secret=secret, consistency_token=appended.position)

    @command(delete, "/webhooks/{webhook_id:uuid}", "removeWebhook")
    def remove_webhook(self, webhook_id: FromPath[UUID], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Remove one of your webhooks; its pending deliveries are dropped."""
        remove = c.services.notifications.remove_webhook
        return accepted(c.run(lambda: remove(c.household, c.user_id, webhook_id)))

    @query("/deliveries", "listDeliveries")
    def list_deliveries(self, c: NamedDependency[Caller], limit: Limit = 50) -> list[q.DeliveryView]:
        """Your email and webhook deliveries, newest first: `pending` (maybe after quiet
        hours or a back-off), `sending`, `sent`, `failed` (refused or given up) or `unknown`
        (the request may have reached the receiver; it is not sent again)."""
        return q.deliveries(c.services.reads, c.household, c.user_id, limit)
