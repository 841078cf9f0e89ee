"""Projects alerts into people's notifications: the in-app inbox (this schema) and the
pending email and webhook deliveries (the notify schema, which a rebuild keeps).

Who is told: the owner of a private budget, of a balance monitor or of a bill; everyone in
the household otherwise (members as of the alert). Which channels: the person's
preferences for the kind (all channels by default); webhooks only those the person added
in that household for the kind. Quiet hours hold an email until they end.
"""

from __future__ import annotations

import datetime as dt
from functools import singledispatchmethod
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from psycopg import Cursor
from psycopg.types.json import Jsonb

from ledger.budget import Budget, BudgetAlert
from ledger.household import Household
from ledger.monitor import BalanceAlert
from ledger.notifications import DEFAULT_CHANNELS, Channel, NotificationSettings, notification_id, quiet_until
from ledger.schedule import Schedule
from projections.base import Projection
from projections.notifications.messages import Message, balance_message, bill_message, budget_message

DELIVERIES = "notify.deliveries"


def delivery_id(notification: UUID, channel: str, target: UUID | None) -> UUID:
    return uuid5(NAMESPACE_URL, f"fiscaflow:delivery:{notification}:{channel}:{target}")


class NotificationsProjection(Projection):
    name = "notifications"
    schema_version = 1
    sql_package = "projections.notifications"
    handles = (
        Household.Created,
        Household.MemberJoined,
        Household.MemberRemoved,
        Budget.Created,
        Budget.Changed,
        Budget.Deleted,
        NotificationSettings.Opened,
        NotificationSettings.PreferencesChanged,
        NotificationSettings.WebhookAdded,
        NotificationSettings.WebhookRemoved,
        NotificationSettings.Read,
        NotificationSettings.AllRead,
        BudgetAlert.BudgetThresholdCrossed,
        BalanceAlert.Crossed,
        Schedule.BillMissed,
    )

    @singledispatchmethod
    def apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    # --- who is in which household, budgets, preferences -------------------------------

    @apply.register(Household.Created)
    @apply.register(Household.MemberJoined)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        user = e.owner_id if isinstance(e, Household.Created) else e.user_id
        curs.execute(
            f"INSERT INTO {self.schema}.members VALUES (%s, %s) ON CONFLICT DO NOTHING",  # noqa: S608
            (e.originator_id, user),
        )

    @apply.register
    def _(self, e: Household.MemberRemoved, curs: Cursor[Any]) -> None:
        query = f"DELETE FROM {self.schema}.members WHERE household_id = %s AND user_id = %s"  # noqa: S608
        curs.execute(query, (e.originator_id, e.user_id))

    @apply.register
    def _(self, e: Budget.Created, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.budgets VALUES (%s, %s, %s, %s, %s)",  # noqa: S608
            (e.originator_id, e.household_id, e.owner_id, e.name, e.private),
        )

    @apply.register
    def _(self, e: Budget.Changed, curs: Cursor[Any]) -> None:
        for column in ("name", "private"):
            if column in e.changes:
                curs.execute(
                    f"UPDATE {self.schema}.budgets SET {column} = %s WHERE budget_id = %s",  # noqa: S608
                    (e.changes[column], e.originator_id),
                )

    @apply.register
    def _(self, e: Budget.Deleted, curs: Cursor[Any]) -> None:
        pass  # its alerts already given stay; no new ones come

    @apply.register
    def _(self, e: NotificationSettings.Opened, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.preferences VALUES (%s, %s, %s, NULL)",  # noqa: S608
            (e.originator_id, e.user_id, Jsonb(DEFAULT_CHANNELS)),
        )

    @apply.register
    def _(self, e: NotificationSettings.PreferencesChanged, curs: Cursor[Any]) -> None:
        curs.execute(
            f"UPDATE {self.schema}.preferences SET channels = %s, quiet_hours = %s"  # noqa: S608
            " WHERE settings_id = %s",
            (Jsonb(e.channels), Jsonb(e.quiet_hours) if e.quiet_hours else None, e.originator_id),
        )

    @apply.register
    def _(self, e: NotificationSettings.WebhookAdded, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.webhooks SELECT %s, %s, user_id, %s, %s, false, %s"  # noqa: S608
            f" FROM {self.schema}.preferences WHERE settings_id = %s",
            (e.webhook_id, e.household_id, e.url, list(e.kinds), e.timestamp, e.originator_id),
        )

    @apply.register
    def _(self, e: NotificationSettings.WebhookRemoved, curs: Cursor[Any]) -> None:
        query = f"UPDATE {self.schema}.webhooks SET removed = true WHERE webhook_id = %s"  # noqa: S608
        curs.execute(query, (e.webhook_id,))

    @apply.register(NotificationSettings.Read)
    @apply.register(NotificationSettings.AllRead)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        which, value = (
            ("notification_id = ANY(%s)", list(e.notification_ids))
            if isinstance(e, NotificationSettings.Read)
            else ("created_at <= %s", e.timestamp)
        )
        curs.execute(
            f"UPDATE {self.schema}.inbox SET read = true WHERE household_id = %s AND NOT read"  # noqa: S608
            f" AND user_id = (SELECT user_id FROM {self.schema}.preferences WHERE settings_id = %s)"
            f" AND {which}",
            (e.household_id, e.originator_id, value),
        )

    # --- alerts become notifications -----------------------------------------------------

    @apply.register
    def _(self, e: BudgetAlert.BudgetThresholdCrossed, curs: Cursor[Any]) -> None:
        curs.execute(
            f"SELECT owner_id, name, private FROM {self.schema}.budgets WHERE budget_id = %s",  # noqa: S608
            (e.budget_id,),
        )
        owner, name, private = curs.fetchone() or (None, "?", False)
        self._notify(curs, e, e.household_id, owner if private else None, budget_message(e, name))

    @apply.register
    def _(self, e: BalanceAlert.Crossed, curs: Cursor[Any]) -> None:
        self._notify(curs, e, e.household_id, e.owner_id, balance_message(e))

    @apply.register
    def _(self, e: Schedule.BillMissed, curs: Cursor[Any]) -> None:
        self._notify(curs, e, e.household_id, e.owner_id, bill_message(e))

    def _notify(
        self, curs: Cursor[Any], e: Any, household: UUID, only: UUID | None, message: Message
    ) -> None:
        """Tell ``only`` (if still a member), else every member, on their channels."""
        s = self.schema
        curs.execute(
            f"SELECT m.user_id, p.channels, p.quiet_hours FROM {s}.members m"  # noqa: S608
            f" LEFT JOIN {s}.preferences p ON p.user_id = m.user_id"
            " WHERE m.household_id = %s AND (%s::uuid IS NULL OR m.user_id = %s) ORDER BY m.user_id",
            (household, only, only),
        )
        for user, channels, quiet in curs.fetchall():
            wanted = set((channels or DEFAULT_CHANNELS).get(message.kind, []))
            notification = notification_id(uuid5(e.originator_id, str(e.originator_version)), user)
            if Channel.IN_APP in wanted:
                curs.execute(
                    f"INSERT INTO {s}.inbox VALUES (%s, %s, %s, %s, %s, %s, %s, %s, false)",  # noqa: S608
                    (household, user, notification, str(message.kind), message.title, message.body,
                     Jsonb(message.data), e.timestamp),
                )  # fmt: skip
            if Channel.EMAIL in wanted:
                self._deliver(curs, e, household, user, notification, Channel.EMAIL, None, message, quiet)
            if Channel.WEBHOOK in wanted:
                curs.execute(
                    f"SELECT webhook_id FROM {s}.webhooks WHERE household_id = %s AND user_id = %s"  # noqa: S608
                    " AND NOT removed AND %s = ANY(kinds) ORDER BY webhook_id",
                    (household, user, str(message.kind)),
                )
                for (webhook,) in curs.fetchall():
                    self._deliver(
                        curs, e, household, user, notification, Channel.WEBHOOK, webhook, message, None
                    )

    def _deliver(
        self,
        curs: Cursor[Any],
        e: Any,
        household: UUID,
        user: UUID,
        notification: UUID,
        channel: Channel,
        webhook: UUID | None,
        message: Message,
        quiet: dict[str, str] | None,
    ) -> None:
        at: dt.datetime = e.timestamp
        if quiet is not None:
            held = quiet_until(quiet, at.astimezone(ZoneInfo(quiet["timezone"])))
            at = held.astimezone(dt.UTC) if held is not None else at
        payload = {"title": message.title, "body": message.body, "data": message.data}
        curs.execute(
            f"INSERT INTO {DELIVERIES} (delivery_id, notification_id, household_id, user_id, channel,"  # noqa: S608
            " webhook_id, kind, payload, not_before, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (
                delivery_id(notification, channel, webhook), notification, household, user, str(channel),
                webhook, str(message.kind), Jsonb(payload), at, e.timestamp, e.timestamp,
            ),
        )  # fmt: skip
