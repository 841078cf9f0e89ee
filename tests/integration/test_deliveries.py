"""Email and webhook deliveries against real local servers (aiosmtpd, an HTTP endpoint):
at most once per channel, retried with back-off only when the receiver certainly did not
take it, held by quiet hours, kept across a crash of the sender and a projection rebuild."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from commands.application import Ledger, event_store_env
from commands.deliveries import MAX_ATTEMPTS, Sender
from commands.messages import Register
from commands.notifications import NotificationCommands
from commands.planning_messages import AddWebhook, ChangePreferences, QuietHours
from commands.tokens import TokenService
from commands.users import UserCommands
from commands.write_path import append
from ledger.monitor import BalanceAlert
from ops.settings import Settings
from projections.rebuild import rebuild
from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner
from queries.db import ReadStore
from tests.conftest import create_database, drop_database
from tests.e2e.server import free_port
from tests.receivers import Hooks, SmtpInbox, smtp_server, verify, webhook_server

pytestmark = pytest.mark.integration
SECRET = "integration-test-secret-0123456789-abcdef"


class World:
    def __init__(self, database: str, pool: ConnectionPool[Any], smtp_port: int) -> None:
        self.database, self.pool = database, pool
        self.ledger = Ledger(event_store_env(database, pool_size=2))
        tokens = TokenService(SECRET, pool)
        tokens.create_schema()
        self.users = UserCommands(self.ledger, tokens)
        self.reads = ReadStore(database, 2)
        self.reads.open()
        self.notifications = NotificationCommands(self.ledger, pool, self.reads)
        self.settings = Settings(
            jwt_secret=SECRET, smtp_host="127.0.0.1", smtp_port=smtp_port, webhook_private_networks=True,
            delivery_interval=1.0,
        )  # fmt: skip

    def person(self) -> tuple[uuid.UUID, uuid.UUID, str]:
        email = f"p-{uuid.uuid4().hex[:8]}@example.org"
        registered = self.users.register(
            Register(email=email, password="a long passphrase here", display_name="Pat")
        )
        return registered.user_id, registered.household_id, email

    def webhook_only(self, household: uuid.UUID, user: uuid.UUID, url: str) -> None:
        """The person hears of balance alerts by this webhook alone."""
        self.notifications.change_preferences(
            user, ChangePreferences(channels={"balance.threshold": ["webhook"]})
        )
        self.notifications.add_webhook(household, user, AddWebhook(url=url, kinds=["balance.threshold"]))

    def alert(self, household: uuid.UUID, owner: uuid.UUID) -> None:
        """What the relay appends when a monitored balance crosses its threshold."""
        facts = {
            "household_id": household, "owner_id": owner, "account_id": uuid.uuid4(), "name": "Card",
            "direction": "below", "threshold": Decimal("0.00"), "balance": Decimal("-5.00"),
            "currency": "EUR",
        }  # fmt: skip
        append(self.ledger, BalanceAlert.crossed(uuid.uuid4(), 1, facts))
        self.project()

    def project(self) -> None:
        for name in ("directory", "notifications"):
            runner = ProjectionRunner(PROJECTIONS[name], self.database)
            runner.catch_up()
            runner.close()

    def deliveries(self, user: uuid.UUID) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database) as conn:
            return conn.execute(
                "SELECT channel, status, attempts FROM notify.deliveries WHERE user_id = %s ORDER BY channel",
                (user,),
            ).fetchall()

    def sender(self, **changes: Any) -> Sender:
        settings = self.settings if not changes else Settings(**{**_fields(self.settings), **changes})
        return Sender(settings, self.pool, timeout=0.5)

    def close(self) -> None:
        self.reads.close()
        self.ledger.close()


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in Settings.__dataclass_fields__}


@pytest.fixture
def world() -> Iterator[tuple[World, SmtpInbox, Hooks, str]]:
    database = create_database()
    with (
        ConnectionPool(database, min_size=1, max_size=4) as pool,
        smtp_server() as (smtp, port),
        webhook_server() as (hooks, url),
    ):
        built = World(database, pool, port)
        try:
            yield built, smtp, hooks, url
        finally:
            built.close()
    drop_database(database)


def later(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


def test_each_channel_delivers_once_and_a_451_is_retried_after_its_back_off(
    world: tuple[World, SmtpInbox, Hooks, str],
) -> None:
    w, smtp, hooks, url = world
    user, household, email = w.person()
    _, _, secret = w.notifications.add_webhook(
        household, user, AddWebhook(url=url, kinds=["balance.threshold"])
    )
    smtp.refuse = 1
    w.alert(household, user)
    sender = w.sender()
    assert sender.round(later(0)) == 2
    assert w.deliveries(user) == [("email", "pending", 1), ("webhook", "sent", 1)]
    assert sender.round(later(0.5)) == 0  # the back-off (2 s after one attempt) has not passed
    assert sender.round(later(3)) == 1
    assert w.deliveries(user) == [("email", "sent", 2), ("webhook", "sent", 1)]
    for _ in range(3):
        assert sender.round(later(3600)) == 0
    assert [m["To"] for m in smtp.messages] == [email]
    assert len(hooks.requests) == 1
    headers, body = hooks.requests[0]
    assert verify(secret, headers, body)


def test_a_refusal_fails_a_timeout_is_unknown_and_neither_is_sent_again(
    world: tuple[World, SmtpInbox, Hooks, str],
) -> None:
    w, _, hooks, url = world
    user, household, _ = w.person()
    w.webhook_only(household, user, url)
    hooks.answers = [404]
    w.alert(household, user)
    sender = w.sender()
    sender.round(later(0))
    assert w.deliveries(user) == [("webhook", "failed", 1)]
    hooks.delay = 1.0  # longer than the sender waits: the request went out, the answer did not come
    w.alert(household, user)
    sender.round(later(0))
    assert sorted(w.deliveries(user)) == [("webhook", "failed", 1), ("webhook", "unknown", 1)]
    hooks.delay = 0.0
    for _ in range(3):
        sender.round(later(7200))
    assert len(hooks.requests) == 2


def test_no_connection_is_retried_with_back_off_until_it_gives_up(
    world: tuple[World, SmtpInbox, Hooks, str],
) -> None:
    w, _, _, _ = world
    user, household, _ = w.person()
    w.webhook_only(household, user, f"http://127.0.0.1:{free_port()}/x")
    w.alert(household, user)
    sender = w.sender()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert sender.round(later(4000 * attempt)) == 1
    assert w.deliveries(user) == [("webhook", "failed", MAX_ATTEMPTS)]
    assert sender.round(later(10**6)) == 0


def test_a_sender_killed_while_sending_never_sends_that_delivery_again(
    world: tuple[World, SmtpInbox, Hooks, str],
) -> None:
    w, smtp, _, _ = world
    user, household, _ = w.person()
    w.alert(household, user)
    claimed = w.sender()._claim(later(0))  # claimed and committed, then the process died
    assert [row["channel"] for row in claimed] == ["email"]
    restarted = w.sender()
    assert restarted.round(later(60)) == 0  # still "sending": maybe it went out
    assert restarted.round(later(11 * 60)) == 0
    assert w.deliveries(user) == [("email", "unknown", 1)]
    assert smtp.messages == []


def test_quiet_hours_hold_an_email_until_they_end(world: tuple[World, SmtpInbox, Hooks, str]) -> None:
    w, smtp, _, _ = world
    user, household, _ = w.person()
    now = dt.datetime.now(dt.UTC)
    start, end = (
        (now - dt.timedelta(hours=1)).strftime("%H:%M"),
        (now + dt.timedelta(hours=2)).strftime("%H:%M"),
    )
    quiet = QuietHours(start=start, end=end, timezone="UTC")
    w.notifications.change_preferences(user, ChangePreferences(quiet_hours=quiet))
    w.alert(household, user)
    sender = w.sender()
    assert sender.round(later(60)) == 0
    assert smtp.messages == []
    assert sender.round(later(2 * 3600 + 60)) == 1
    assert len(smtp.messages) == 1


def test_a_rebuild_of_the_notifications_read_model_sends_nothing_again(
    world: tuple[World, SmtpInbox, Hooks, str],
) -> None:
    w, smtp, _, _ = world
    user, household, _ = w.person()
    w.alert(household, user)
    w.sender().round(later(0))
    before = w.deliveries(user)
    rebuild(PROJECTIONS["notifications"], w.database)
    assert w.deliveries(user) == before == [("email", "sent", 1)]
    assert w.sender().round(later(3600)) == 0
    assert len(smtp.messages) == 1
    with w.reads.cursor() as curs:  # the inbox came back from the events
        curs.execute("SELECT kind FROM read_notifications.inbox WHERE user_id = %s", (user,))
        assert curs.fetchall() == [{"kind": "balance.threshold"}]


def test_webhooks_to_private_addresses_are_refused_unless_allowed(
    world: tuple[World, SmtpInbox, Hooks, str],
) -> None:
    w, _, hooks, url = world
    user, household, _ = w.person()
    w.webhook_only(household, user, url)
    w.alert(household, user)
    w.sender(webhook_private_networks=False).round(later(0))
    assert w.deliveries(user) == [("webhook", "failed", 1)]
    assert hooks.requests == []
