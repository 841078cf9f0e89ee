"""A person's notification settings: which kinds reach them on which channels, quiet hours,
their webhooks, and what they have read in their in-app inbox.

Kinds are what happened (a budget threshold, a balance threshold, a missed bill); channels
are how it reaches the person: ``in_app`` (the inbox), ``email`` and ``webhook``. Quiet
hours hold emails back until they end (the inbox and webhooks are not held: the inbox is
silent, webhooks are machines). One settings aggregate per person, its id derived from
theirs, opened on first use.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.errors import IllegalTransitionError, InvalidInputError, NotFoundError

MAX_WEBHOOKS = 5
MAX_READ_AT_ONCE = 200
TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class Kind(StrEnum):
    BUDGET_THRESHOLD = "budget.threshold"
    BALANCE_THRESHOLD = "balance.threshold"
    BILL_MISSED = "bill.missed"


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    WEBHOOK = "webhook"


DEFAULT_CHANNELS: dict[str, list[str]] = {
    kind: [Channel.IN_APP, Channel.EMAIL, Channel.WEBHOOK] for kind in Kind
}


def settings_id(user_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"fiscaflow:notification-settings:{user_id}")


def notification_id(source_id: UUID, user_id: UUID) -> UUID:
    """A person's notification of an event: one per event and person."""
    return uuid5(NAMESPACE_URL, f"fiscaflow:notification:{source_id}:{user_id}")


def check_channels(channels: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every kind with its channels (kinds not given keep the default)."""
    checked = {str(kind): list(default) for kind, default in DEFAULT_CHANNELS.items()}
    for kind, wanted in channels.items():
        if kind not in set(Kind):
            raise InvalidInputError(f"unknown notification kind {kind!r}; known: {sorted(Kind)}")
        unknown = set(wanted) - set(Channel)
        if unknown:
            raise InvalidInputError(f"unknown channels {sorted(unknown)}; known: {sorted(Channel)}")
        checked[kind] = sorted(set(wanted))
    return checked


def check_quiet_hours(quiet: dict[str, str] | None) -> dict[str, str] | None:
    """``{"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"}`` or None; the
    timezone's existence is checked where the time-zone database is (commands)."""
    if quiet is None:
        return None
    if set(quiet) != {"start", "end", "timezone"}:
        raise InvalidInputError("quiet hours have a start, an end and a timezone")
    if not TIME.match(quiet["start"]) or not TIME.match(quiet["end"]) or quiet["start"] == quiet["end"]:
        raise InvalidInputError('quiet hours start and end at different times such as "22:00"')
    return dict(quiet)


def quiet_until(quiet: dict[str, str] | None, local: dt.datetime) -> dt.datetime | None:
    """When the quiet hours that hold ``local`` (an aware time in the person's time zone)
    end, or None when it is not in quiet hours. Hours may span midnight (22:00-07:00)."""
    if quiet is None:
        return None
    start, end = (dt.time.fromisoformat(quiet[key]) for key in ("start", "end"))
    now = local.time().replace(tzinfo=None)
    spans_midnight = start > end
    inside = (start <= now or now < end) if spans_midnight else (start <= now < end)
    if not inside:
        return None
    day = local.date() + dt.timedelta(days=1) if spans_midnight and now >= start else local.date()
    return dt.datetime.combine(day, end, tzinfo=local.tzinfo)


def check_webhook_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname or len(url) > 2000:
        raise InvalidInputError("a webhook URL is an http(s) URL with a host")
    if parts.username or parts.password:
        raise InvalidInputError("a webhook URL carries no credentials: the signature authenticates")
    return url


class NotificationSettings(Aggregate):
    @classmethod
    def open(cls, user_id: UUID) -> NotificationSettings:
        return cls._create(cls.Opened, id=settings_id(user_id), user_id=user_id)

    class Opened(Aggregate.Created):
        user_id: UUID

    @event(Opened)
    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id
        self.channels = check_channels({})
        self.quiet_hours: dict[str, str] | None = None
        self.webhooks: dict[UUID, UUID] = {}  # webhook id -> household id

    def change_preferences(self, changes: dict[str, Any]) -> None:
        """``changes``: ``channels`` (kinds to channels) and/or ``quiet_hours`` (None: none)."""
        unknown = set(changes) - {"channels", "quiet_hours"}
        if unknown or not changes:
            raise InvalidInputError("change channels and/or quiet_hours")
        channels = check_channels(changes["channels"]) if "channels" in changes else self.channels
        quiet = check_quiet_hours(changes["quiet_hours"]) if "quiet_hours" in changes else self.quiet_hours
        self._preferences_changed(channels, quiet)

    @event("PreferencesChanged")
    def _preferences_changed(
        self, channels: dict[str, list[str]], quiet_hours: dict[str, str] | None
    ) -> None:
        self.channels = dict(channels)
        self.quiet_hours = quiet_hours

    def add_webhook(self, webhook_id: UUID, household_id: UUID, url: str, kinds: list[str]) -> None:
        if sum(1 for h in self.webhooks.values() if h == household_id) >= MAX_WEBHOOKS:
            raise IllegalTransitionError(f"at most {MAX_WEBHOOKS} webhooks per household")
        unknown = set(kinds) - set(Kind)
        if not kinds or unknown:
            raise InvalidInputError(f"a webhook is for one or more of {sorted(Kind)}")
        self._webhook_added(webhook_id, household_id, check_webhook_url(url), sorted(set(kinds)))

    @event("WebhookAdded")
    def _webhook_added(self, webhook_id: UUID, household_id: UUID, url: str, kinds: list[str]) -> None:
        self.webhooks[webhook_id] = household_id

    def remove_webhook(self, webhook_id: UUID, household_id: UUID) -> None:
        if self.webhooks.get(webhook_id) != household_id:
            raise NotFoundError(f"no webhook {webhook_id}")
        self._webhook_removed(webhook_id)

    @event("WebhookRemoved")
    def _webhook_removed(self, webhook_id: UUID) -> None:
        del self.webhooks[webhook_id]

    def read(self, household_id: UUID, notification_ids: list[UUID]) -> None:
        if not 1 <= len(notification_ids) <= MAX_READ_AT_ONCE:
            raise InvalidInputError(f"mark 1 to {MAX_READ_AT_ONCE} notifications at once")
        self._read(household_id, sorted(set(notification_ids), key=str))

    @event("Read")
    def _read(self, household_id: UUID, notification_ids: list[UUID]) -> None:
        pass

    def read_all(self, household_id: UUID) -> None:
        self._all_read(household_id)

    @event("AllRead")
    def _all_read(self, household_id: UUID) -> None:
        pass
