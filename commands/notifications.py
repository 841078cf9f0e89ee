"""Handlers of a person's notification settings: preferences, webhooks and read marks."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.application import AggregateNotFoundError
from psycopg_pool import ConnectionPool

from commands.application import Ledger
from commands.loading import with_retries
from commands.planning_messages import AddWebhook, ChangePreferences, MarkRead
from commands.write_path import Appended, append
from ledger.errors import InvalidInputError, NotFoundError
from ledger.notifications import NotificationSettings, settings_id
from queries.db import ReadStore
from queries.notifications import unknown_notifications


def new_secret() -> str:
    """A webhook signing secret in the Standard Webhooks format (``whsec_`` + base64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class NotificationCommands:
    def __init__(self, app: Ledger, auth_pool: ConnectionPool[Any], reads: ReadStore) -> None:
        self.app, self.auth_pool, self.reads = app, auth_pool, reads

    def settings(self, user_id: UUID) -> NotificationSettings:
        """The person's settings, opened (not yet saved) on first use."""
        try:
            found: Any = self.app.repository.get(settings_id(user_id))
        except AggregateNotFoundError:
            return NotificationSettings.open(user_id)
        assert isinstance(found, NotificationSettings)
        return found

    def change_preferences(self, user_id: UUID, command: ChangePreferences) -> Appended:
        changes: dict[str, Any] = command.changes()
        if changes.get("quiet_hours") is not None:
            quiet = changes["quiet_hours"]
            try:
                ZoneInfo(quiet.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidInputError(f"unknown time zone {quiet.timezone!r}") from None
            changes["quiet_hours"] = {"start": quiet.start, "end": quiet.end, "timezone": quiet.timezone}
        if "channels" in changes:
            changes["channels"] = {str(k): list(v) for k, v in changes["channels"].items()}

        def attempt() -> Appended:
            settings = self.settings(user_id)
            settings.change_preferences(changes)
            return append(self.app, settings)

        return with_retries(attempt)

    def add_webhook(
        self, household_id: UUID, user_id: UUID, command: AddWebhook
    ) -> tuple[Appended, UUID, str]:
        """Add a webhook; its secret is returned here once and never shown again."""
        webhook_id, secret = uuid4(), new_secret()

        def attempt() -> Appended:
            settings = self.settings(user_id)
            settings.add_webhook(webhook_id, household_id, command.url, list(command.kinds))
            return append(self.app, settings)

        with self.auth_pool.connection() as conn, conn.transaction():  # before any delivery can need it
            conn.execute(
                "INSERT INTO auth.webhook_secrets (webhook_id, secret) VALUES (%s, %s)", (webhook_id, secret)
            )
        try:
            return with_retries(attempt), webhook_id, secret
        except Exception:
            self._forget(webhook_id)
            raise

    def remove_webhook(self, household_id: UUID, user_id: UUID, webhook_id: UUID) -> Appended:
        def attempt() -> Appended:
            settings = self.settings(user_id)
            settings.remove_webhook(webhook_id, household_id)
            return append(self.app, settings)

        appended = with_retries(attempt)
        self._forget(webhook_id)
        return appended

    def _forget(self, webhook_id: UUID) -> None:
        with self.auth_pool.connection() as conn, conn.transaction():
            conn.execute("DELETE FROM auth.webhook_secrets WHERE webhook_id = %s", (webhook_id,))

    def mark_read(self, household_id: UUID, user_id: UUID, command: MarkRead) -> Appended:
        """Mark notifications read; one that is not the person's in this household is 404."""
        unknown = unknown_notifications(self.reads, household_id, user_id, command.notification_ids)
        if unknown:
            raise NotFoundError(f"no notification {unknown[0]}")

        def attempt() -> Appended:
            settings = self.settings(user_id)
            settings.read(household_id, list(command.notification_ids))
            return append(self.app, settings)

        return with_retries(attempt)

    def mark_all_read(self, household_id: UUID, user_id: UUID) -> Appended:
        def attempt() -> Appended:
            settings = self.settings(user_id)
            settings.read_all(household_id)
            return append(self.app, settings)

        return with_retries(attempt)
