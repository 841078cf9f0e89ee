"""Notifications end to end: alerts reach the in-app inbox, a real SMTP server and a real
webhook endpoint, once per channel; balance monitors, preferences and schedules over HTTP."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.schedule import Frequency, next_occurrence
from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import Member, join
from tests.e2e.users import verify as verify_email
from tests.receivers import Hooks, SmtpInbox, smtp_server, verify, webhook_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[SmtpInbox, int, Hooks, str]]:
    with smtp_server() as (inbox, port), webhook_server() as (hooks, url):
        yield inbox, port, hooks, url


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, receivers: tuple[SmtpInbox, int, Hooks, str]
) -> Iterator[Server]:
    conninfo = create_database()
    env = {
        "DATABASE_URL": conninfo,
        "FISCAFLOW_MODE": "development",
        "FISCAFLOW_RATE_LIMIT": "100000",
        "FISCAFLOW_HOME": str(tmp_path_factory.mktemp("home")),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(receivers[1]),
        "SMTP_FROM": "alerts@fiscaflow.test",
        "FISCAFLOW_WEBHOOK_PRIVATE_NETWORKS": "true",  # the test's receiver is on loopback
        "FISCAFLOW_DELIVERY_INTERVAL": "0.2",
        "FISCAFLOW_SCHEDULE_INTERVAL": "0.5",
    }
    running = Server(env, Path(tmp_path_factory.mktemp("server")) / "server.log")
    try:
        yield running
    finally:
        running.stop()
        drop_database(conninfo)


def eventually(probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll until ``probe`` returns something truthy (the pipeline is asynchronous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.2)
    raise AssertionError(f"nothing after {timeout}s")


def inbox(client: httpx.Client, **params: Any) -> dict[str, Any]:
    answer = client.get("/api/v1/notifications", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def mails_to(smtp: SmtpInbox, email: str) -> list[Any]:
    return [m for m in smtp.messages if m["To"] == email]


def expense(client: httpx.Client, account: str, amount: str, **fields: Any) -> dict[str, Any]:
    body = {"kind": "expense", "account_id": account, "amount": amount, "date": dt.date.today().isoformat()}
    answer = client.post("/api/v1/transactions", json=body | fields)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_a_budget_alert_reaches_the_inbox_an_email_and_a_signed_webhook_once(
    member: Member, receivers: tuple[SmtpInbox, int, Hooks, str]
) -> None:
    smtp, _, hooks, url = receivers
    client = member.client
    added = client.post("/api/v1/notifications/webhooks", json={"url": url, "kinds": ["budget.threshold"]})
    assert added.status_code == 201, added.text
    secret = added.json()["secret"]
    assert secret.startswith("whsec_")
    listed = client.get("/api/v1/notifications/webhooks", params={"after": added.json()["consistency_token"]})
    assert [w["url"] for w in listed.json()] == [url] and "secret" not in listed.text
    account = client.post("/api/v1/accounts", json={"name": "Checking", "currency": "EUR"}).json()["id"]
    budget = client.post(
        "/api/v1/budgets",
        json={
            "name": "Groceries",
            "categories": ["groceries"],
            "limit": "100.00",
            "currency": "EUR",
            "thresholds": [80],
        },
    )
    assert budget.status_code == 201, budget.text
    expense(client, account, "85.00", category="groceries", description="weekly shop")

    items = eventually(lambda: inbox(client)["items"])
    assert [(i["kind"], i["title"], i["read"]) for i in items] == [
        ("budget.threshold", "Budget Groceries reached 80 %", False)
    ]
    assert items[0]["data"]["spent"] == "85.00"
    mail = eventually(lambda: mails_to(smtp, member.email))
    assert mail[0]["Subject"] == "Budget Groceries reached 80 %"
    assert mail[0]["From"] == "alerts@fiscaflow.test"
    delivered = eventually(lambda: [b for b in hooks.bodies() if b["notification_id"] == items[0]["id"]])
    headers, body = next((h, b) for h, b in hooks.requests if b"budget.threshold" in b)
    assert verify(secret, headers, body)
    assert not verify("whsec_" + "A" * 32, headers, body)
    assert delivered[0]["type"] == "budget.threshold" and delivered[0]["household_id"] == member.household_id
    expense(client, account, "5.00", category="groceries")  # above 80 % again: no second alert
    time.sleep(2.0)  # several sender rounds: nothing is sent twice
    assert len(mails_to(smtp, member.email)) == 1
    assert len([b for b in hooks.bodies() if b["notification_id"] == items[0]["id"]]) == 1
    states = client.get("/api/v1/notifications/deliveries").json()
    assert sorted((d["channel"], d["status"], d["attempts"]) for d in states) == [
        ("email", "sent", 1),
        ("webhook", "sent", 1),
    ]

    assert client.get("/api/v1/analytics/dashboard").json()["unread_notifications"] == 1
    read = client.post("/api/v1/notifications/read", json={"notification_ids": [items[0]["id"]]})
    assert read.status_code == 200, read.text
    home = client.get("/api/v1/analytics/dashboard", params={"after": read.json()["consistency_token"]})
    assert home.json()["unread_notifications"] == 0
    after = inbox(client, after=read.json()["consistency_token"])
    assert after["unread"] == 0 and after["items"][0]["read"] is True
    assert inbox(client, unread_only=True)["items"] == []


def test_a_webhook_answering_5xx_is_retried_with_back_off_and_delivered_once(
    member: Member, receivers: tuple[SmtpInbox, int, Hooks, str]
) -> None:
    _, _, hooks, url = receivers
    client = member.client
    account = client.post("/api/v1/accounts", json={"name": "Card", "currency": "EUR"}).json()["id"]
    client.post("/api/v1/notifications/webhooks", json={"url": url, "kinds": ["balance.threshold"]})
    monitor = client.post(
        "/api/v1/monitors", json={"account_id": account, "threshold": "-100.00", "name": "Card limit"}
    )
    assert monitor.status_code == 201, monitor.text
    with hooks.lock:
        hooks.answers = [500, 503]
    expense(client, account, "150.00")  # 0 -> -150: below -100

    def attempts() -> list[dict[str, str]]:
        with hooks.lock:
            return [
                h
                for h, b in hooks.requests
                if b"balance.threshold" in b and member.household_id.encode() in b
            ]

    seen = eventually(lambda: len(attempts()) >= 3 and attempts())
    assert len({h["webhook-id"] for h in seen}) == 1  # one delivery, tried three times

    def sent() -> list[tuple[str, int]]:
        states = client.get("/api/v1/notifications/deliveries").json()
        return sorted(
            (d["channel"], d["attempts"])
            for d in states
            if d["status"] == "sent" and d["kind"] == "balance.threshold"
        )

    # The third attempt reached the receiver; its "sent" is recorded once the answer is back.
    eventually(lambda: len(sent()) == 2)
    assert sent() == [("email", 1), ("webhook", 3)]
    notes = inbox(client)["items"]
    assert [(n["kind"], n["title"]) for n in notes] == [
        ("balance.threshold", "Card limit: the balance fell below -100.00 EUR")
    ]


def test_monitors_are_personal_and_validated(
    member: Member, signup: Callable[..., Member], server: Server
) -> None:
    client = member.client
    account = client.post("/api/v1/accounts", json={"name": "Joint", "currency": "EUR"}).json()["id"]
    made = client.post(
        "/api/v1/monitors", json={"account_id": account, "threshold": "50.00", "direction": "above"}
    )
    assert made.status_code == 201, made.text
    mine = client.get("/api/v1/monitors", params={"after": made.json()["consistency_token"]}).json()
    assert [(m["threshold"], m["direction"], m["balance"]) for m in mine] == [("50.00", "above", "0")]
    partner = signup("Partner")
    verify_email(partner)
    with join(server.url, member, partner) as shared:
        assert shared.get(f"/api/v1/monitors/{made.json()['id']}").status_code == 404
        assert shared.get("/api/v1/monitors").json() == []
    for bad in (
        {"account_id": account, "threshold": 50},
        {"account_id": account, "threshold": "1.234"},
        {"account_id": account, "threshold": "5", "direction": "sideways"},
        {"account_id": account},
    ):
        answer = client.post("/api/v1/monitors", json=bad)
        assert answer.status_code in (400, 422), (bad, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    changed = client.put(f"/api/v1/monitors/{made.json()['id']}", json={"threshold": "75.00"})
    assert changed.status_code == 200, changed.text
    seen = client.get(
        f"/api/v1/monitors/{made.json()['id']}", params={"after": changed.json()["consistency_token"]}
    )
    assert seen.json()["threshold"] == "75.00"
    deleted = client.delete(f"/api/v1/monitors/{made.json()['id']}")
    assert deleted.status_code == 200
    gone = client.get(
        f"/api/v1/monitors/{made.json()['id']}", params={"after": deleted.json()["consistency_token"]}
    )
    assert gone.status_code == 404


def test_preferences_and_quiet_hours(member: Member) -> None:
    client = member.client
    assert client.get("/api/v1/notifications/preferences").json()["channels"]["bill.missed"] == [
        "in_app", "email", "webhook"
    ]  # fmt: skip
    changed = client.put(
        "/api/v1/notifications/preferences",
        json={
            "channels": {"bill.missed": ["in_app"]},
            "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"},
        },
    )
    assert changed.status_code == 200, changed.text
    now = client.get(
        "/api/v1/notifications/preferences", params={"after": changed.json()["consistency_token"]}
    ).json()
    assert now["channels"]["bill.missed"] == ["in_app"]
    assert now["channels"]["budget.threshold"] == ["in_app", "email", "webhook"]
    assert now["quiet_hours"] == {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"}
    for bad in (
        {"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Olympus"}},
        {"quiet_hours": {"start": "9pm", "end": "07:00", "timezone": "UTC"}},
        {"channels": {"bill.missed": ["pigeon"]}},
        {"channels": {"lottery": ["email"]}},
        {"role": "admin"},
    ):
        answer = client.put("/api/v1/notifications/preferences", json=bad)
        assert answer.status_code in (400, 422), (bad, answer.text)
    cleared = client.put("/api/v1/notifications/preferences", json={"quiet_hours": None})
    assert (
        client.get(
            "/api/v1/notifications/preferences", params={"after": cleared.json()["consistency_token"]}
        ).json()["quiet_hours"]
        is None
    )
    unknown = client.post("/api/v1/notifications/read", json={"notification_ids": [member.user_id]})
    assert unknown.status_code == 404


def test_a_schedule_generates_each_occurrence_once_and_a_missed_bill_notifies(
    member: Member, receivers: tuple[SmtpInbox, int, Hooks, str]
) -> None:
    smtp = receivers[0]
    client = member.client
    account = client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()["id"]
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=20)
    made = client.post(
        "/api/v1/schedules",
        json={
            "name": "Gym", "account_id": account, "amount": "30.00", "frequency": "weekly",
            "start": start.isoformat(), "category": "fitness",
        },
    )  # fmt: skip
    assert made.status_code == 201, made.text
    expected, on = [], None
    while (on := next_occurrence(Frequency.WEEKLY, 1, start, start.day, on, None)) and on <= today:
        expected.append(on.isoformat())

    def generated() -> list[str]:
        listed = client.get("/api/v1/transactions", params={"account_id": account}).json()["items"]
        return sorted(t["date"] for t in listed)

    eventually(lambda: len(generated()) == len(expected))
    time.sleep(1.5)  # more runner rounds: still once per occurrence
    assert generated() == expected
    schedule = client.get(f"/api/v1/schedules/{made.json()['id']}").json()
    assert schedule["next_due"] == (dt.date.fromisoformat(expected[-1]) + dt.timedelta(days=7)).isoformat()
    assert [o["outcome"] for o in schedule["recent"]] == ["generated"] * min(3, len(expected))
    home = client.get("/api/v1/analytics/dashboard").json()
    assert [(u["name"], u["due"], u["amount"]) for u in home["upcoming"]] == [
        ("Gym", schedule["next_due"], "30.00")
    ]
    upcoming = client.get("/api/v1/schedules/upcoming", params={"days": 14}).json()
    assert [u["due"] for u in upcoming if u["name"] == "Gym"] == [schedule["next_due"]] + (
        [(dt.date.fromisoformat(schedule["next_due"]) + dt.timedelta(days=7)).isoformat()]
        if dt.date.fromisoformat(schedule["next_due"]) + dt.timedelta(days=7) <= today + dt.timedelta(days=14)
        else []
    )

    bill = client.post(
        "/api/v1/schedules",
        json={
            "name": "Water", "mode": "bill", "account_id": account, "amount": "40.00",
            "start": (today - dt.timedelta(days=10)).isoformat(), "grace_days": 2,
        },
    )  # fmt: skip
    assert bill.status_code == 201, bill.text
    notes = eventually(lambda: [n for n in inbox(client)["items"] if n["kind"] == "bill.missed"])
    assert notes[0]["title"] == "Bill Water was not paid"
    eventually(lambda: [m for m in mails_to(smtp, member.email) if m["Subject"] == "Bill Water was not paid"])
    for bad in (
        {"name": "X", "account_id": account, "amount": "1.00", "start": "2026-01-01", "every": 0},
        {"name": "X", "account_id": account, "amount": "1.00", "start": "2026-01-01", "kind": "transfer"},
        {
            "name": "X",
            "account_id": account,
            "amount": "1.00",
            "start": "2026-01-01",
            "frequency": "weekly",
            "day": 3,
        },
        {"name": "X", "account_id": account, "amount": 1.0, "start": "2026-01-01"},
    ):
        answer = client.post("/api/v1/schedules", json=bad)
        assert answer.status_code in (400, 422), (bad, answer.text)


def test_read_all_marks_every_notification_you_have_then_and_no_one_elses(
    member: Member, signup: Callable[..., Member], server: Server
) -> None:
    client = member.client
    partner = signup("Partner")
    verify_email(partner)
    with join(server.url, member, partner) as shared:
        account = client.post("/api/v1/accounts", json={"name": "Joint", "currency": "EUR"}).json()["id"]
        budget = client.post(
            "/api/v1/budgets",
            json={"name": "Fun", "categories": ["entertainment"], "limit": "100.00", "currency": "EUR",
                  "thresholds": [50, 80, 100]},
        )  # fmt: skip
        assert budget.status_code == 201, budget.text
        expense(client, account, "85.00", category="entertainment")  # reaches 50 % and 80 %
        assert len(eventually(lambda: [i for i in inbox(client)["items"] if not i["read"]][1:])) == 1
        eventually(lambda: inbox(shared)["unread"] == 2)  # the partner has the same two

        read = client.post("/api/v1/notifications/read-all")
        assert read.status_code == 200, read.text
        mine = inbox(client, after=read.json()["consistency_token"])
        assert mine["unread"] == 0 and [i["read"] for i in mine["items"]] == [True, True]
        assert inbox(client, unread_only=True)["items"] == []
        theirs = inbox(shared, after=read.json()["consistency_token"])
        assert theirs["unread"] == 2 and not any(i["read"] for i in theirs["items"])  # not the partner's

        expense(client, account, "20.00", category="entertainment")  # 105 %: a later one is unread
        newer = eventually(lambda: inbox(client, unread_only=True)["items"])
        assert [i["title"] for i in newer] == ["Budget Fun reached 100 %"]
        again = client.post("/api/v1/notifications/read-all")
        assert inbox(client, after=again.json()["consistency_token"])["unread"] == 0
