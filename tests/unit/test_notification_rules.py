"""Balance crossings, quiet hours and notification preferences."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import IllegalTransitionError, InvalidInputError, NotFoundError
from ledger.monitor import Direction, balance_alert_id, crossed
from ledger.notifications import NotificationSettings, check_channels, quiet_until

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"}


@pytest.mark.parametrize(
    ("direction", "before", "after", "fires"),
    [
        ("below", "150", "99.99", True),
        ("below", "100", "99.99", True),  # from at the threshold to under it
        ("below", "99", "50", False),  # already under
        ("below", "50", "150", False),  # the other way
        ("above", "100", "100.01", True),
        ("above", "101", "200", False),
        ("above", "200", "50", False),
    ],
)
def test_a_monitor_fires_on_a_crossing_in_its_direction(
    direction: str, before: str, after: str, fires: bool
) -> None:
    assert crossed(Direction(direction), Decimal(100), Decimal(before), Decimal(after)) is fires


@given(st.lists(st.integers(-500, 500), min_size=1, max_size=40), st.integers(-200, 200))
def test_a_monitor_fires_once_each_time_the_balance_enters_its_zone(
    changes: list[int], threshold: int
) -> None:
    """A monitor's zone is under its threshold (below) or over it (above); at the threshold
    is outside both. Every entry into the zone fires, and two alerts of one monitor are
    always separated by a moment outside its zone. (An earlier version claimed that below
    and above alerts alternate: not so when the balance only touches the threshold, e.g.
    0, -67, -66, -67 with threshold -66 enters "under -66" twice without going over it.)"""
    limit = Decimal(threshold)
    for direction in Direction:

        def inside(balance: Decimal, direction: Direction = direction) -> bool:
            return balance < limit if direction is Direction.BELOW else balance > limit

        balance = Decimal(0)
        may_fire = not inside(balance)  # starting inside the zone is no entry into it
        for change in changes:
            after = balance + change
            fires = crossed(direction, limit, balance, after)
            assert fires is (not inside(balance) and inside(after))  # each entry, only entries
            if fires:
                assert may_fire, (direction, balance, after)
                may_fire = False
            if not inside(after):
                may_fire = True
            balance = after


def test_alert_ids_are_one_per_monitor_and_posting() -> None:
    monitor = uuid.uuid4()
    assert balance_alert_id(monitor, 3) == balance_alert_id(monitor, 3) != balance_alert_id(monitor, 4)


@pytest.mark.parametrize(
    ("local", "until"),
    [
        (dt.datetime(2026, 11, 30, 23, 30, tzinfo=BERLIN), dt.datetime(2026, 12, 1, 7, 0, tzinfo=BERLIN)),
        (dt.datetime(2026, 12, 1, 3, 0, tzinfo=BERLIN), dt.datetime(2026, 12, 1, 7, 0, tzinfo=BERLIN)),
        (dt.datetime(2026, 12, 1, 7, 0, tzinfo=BERLIN), None),
        (dt.datetime(2026, 12, 1, 12, 0, tzinfo=BERLIN), None),
    ],
)
def test_quiet_hours_spanning_midnight_hold_until_the_morning(
    local: dt.datetime, until: dt.datetime | None
) -> None:
    assert quiet_until(NIGHT, local) == until


def test_quiet_hours_within_a_day() -> None:
    lunch = {"start": "12:00", "end": "13:00", "timezone": "UTC"}
    noon = dt.datetime(2026, 11, 30, 12, 30, tzinfo=dt.UTC)
    assert quiet_until(lunch, noon) == dt.datetime(2026, 11, 30, 13, 0, tzinfo=dt.UTC)
    assert quiet_until(lunch, noon.replace(hour=11)) is None
    assert quiet_until(None, noon) is None


def test_channels_default_to_all_and_unknowns_are_refused() -> None:
    channels = check_channels({"bill.missed": ["email"]})
    assert channels["bill.missed"] == ["email"]
    assert channels["budget.threshold"] == ["in_app", "email", "webhook"]
    with pytest.raises(InvalidInputError):
        check_channels({"budget.threshold": ["pigeon"]})
    with pytest.raises(InvalidInputError):
        check_channels({"lottery.won": ["email"]})


def test_settings_refuse_bad_quiet_hours_and_foreign_webhooks() -> None:
    settings = NotificationSettings.open(uuid.uuid4())
    for quiet in (
        {"start": "22:00", "end": "22:00", "timezone": "UTC"},
        {"start": "25:00", "end": "07:00", "timezone": "UTC"},
        {"start": "22:00"},
    ):
        with pytest.raises(InvalidInputError):
            settings.change_preferences({"quiet_hours": quiet})
    household, webhook = uuid.uuid4(), uuid.uuid4()
    for url in ("ftp://example.org/x", "https://user:pw@example.org/x", "https:///nohost"):
        with pytest.raises(InvalidInputError):
            settings.add_webhook(webhook, household, url, ["bill.missed"])
    settings.add_webhook(webhook, household, "https://example.org/hook", ["bill.missed"])
    with pytest.raises(NotFoundError):
        settings.remove_webhook(webhook, uuid.uuid4())  # another household's view of it
    for n in range(4):
        settings.add_webhook(uuid.uuid4(), household, f"https://example.org/{n}", ["bill.missed"])
    with pytest.raises(IllegalTransitionError):
        settings.add_webhook(uuid.uuid4(), household, "https://example.org/6", ["bill.missed"])
    settings.remove_webhook(webhook, household)
    assert webhook not in settings.webhooks
