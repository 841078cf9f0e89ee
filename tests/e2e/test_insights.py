"""Insights over HTTP: unusual expenses and recurring payments from a recorded history, without
cancelled entries, within the household and the accounts the caller may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server
from tests.e2e.users import Member, join, sign_up, verify

pytestmark = pytest.mark.e2e
TODAY = "2026-11-30"
PROBLEM = "application/problem+json"
GROCERIES = ("52.10", "64.80", "71.25", "88.40", "95.60", "58.30", "79.90")  # varying weekly shop
BIG_SHOP = ("2026-11-21", "412.35")


def entry(account: str, amount: str, on: dt.date | str, merchant: str, category: str) -> dict[str, Any]:
    return {"kind": "expense", "account_id": account, "amount": amount, "date": str(on),
            "merchant": merchant, "category": category}  # fmt: skip


def history(account: str) -> list[dict[str, Any]]:
    """A year of a household's spending, with one unusually large grocery bill."""
    saturdays = [dt.date(2025, 11, 1) + dt.timedelta(weeks=n) for n in range(57)]  # to 2026-11-28
    shops = [
        entry(account, BIG_SHOP[1] if str(day) == BIG_SHOP[0] else GROCERIES[n % 7], day, "FreshMart",
              "groceries")
        for n, day in enumerate(saturdays)
    ]  # fmt: skip
    months = [(2025, 12)] + [(2026, m) for m in range(1, 12)]
    stream = [entry(account, "12.99", dt.date(y, m, 5), "StreamFlix", "entertainment") for y, m in months]
    gym = [entry(account, "29.00", dt.date(y, m, 10), "Gym", "sport") for y, m in months[:7]]  # stopped
    insurance = [entry(account, "359.40", on, "SafeHome Insurance", "insurance")
                 for on in ("2024-01-15", "2025-01-14", "2026-01-15")]  # fmt: skip
    corner = [entry(account, a, on, "Corner Shop", "groceries") for on, a in
              (("2025-12-22", "27.60"), ("2026-01-07", "33.40"), ("2026-02-03", "31.20"),
               ("2026-03-19", "28.40"), ("2026-04-11", "25.70"), ("2026-06-02", "35.90"),
               ("2026-07-29", "30.10"), ("2026-08-27", "33.10"), ("2026-09-04", "26.90"),
               ("2026-10-08", "29.80"))]  # fmt: skip
    parked = ("2026-01-09", "2026-02-21", "2026-04-30", "2026-05-04", "2026-07-17", "2026-09-22")
    parking = [entry(account, "5.00", on, "City Parking", "transport") for on in parked]
    fuel = [entry(account, a, on, "Fuel Stop", "transport") for on, a in
            (("2026-03-01", "48.00"), ("2026-05-20", "55.50"), ("2026-08-08", "61.20"))]  # fmt: skip
    late = [entry(account, "12.00", "2026-11-12", "City Parking", "transport")]  # 2.4 times the usual
    return [*shops, *stream, *gym, *insurance, *corner, *parking, *fuel, *late]


def record(client: httpx.Client, items: list[dict[str, Any]]) -> int:
    recorded = client.post("/api/v1/transactions/bulk", json={"transactions": items})
    assert recorded.status_code == 201, recorded.text
    return int(recorded.json()["consistency_token"])


def cancelled_big_shop(client: httpx.Client, account: str) -> int:
    """A mistyped 999.00 at FreshMart, cancelled: neither unusual nor a payment."""
    mistake = entry(account, "999.00", "2026-11-14", "FreshMart", "groceries")
    made = client.post("/api/v1/transactions", json=mistake)
    assert made.status_code == 201, made.text
    cancelled = client.delete(f"/api/v1/transactions/{made.json()['id']}")
    assert cancelled.status_code == 200, cancelled.text
    return int(cancelled.json()["consistency_token"])


@pytest.fixture(scope="module")
def household(server: Server) -> Iterator[dict[str, Any]]:
    """One household's recorded year, shared by the module's tests (they only read it)."""
    member = sign_up(server.url, "Ana")
    with member.client as client:
        account = client.post("/api/v1/accounts", json={"name": "Current", "currency": "EUR"})
        assert account.status_code == 201, account.text
        record(client, history(account.json()["id"]))
        token = cancelled_big_shop(client, account.json()["id"])
        yield {"client": client, "token": str(token)}


def insights(household: dict[str, Any], path: str, **params: Any) -> Any:
    params = {"today": TODAY, "after": household["token"]} | params
    answer = household["client"].get(f"/api/v1/insights/{path}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_large_grocery_bill_and_the_dear_parking_are_unusual(household: dict[str, Any]) -> None:
    report = insights(household, "unusual")
    assert (report["date_from"], report["date_to"], report["history_from"]) == (
        "2026-11-01",
        TODAY,
        "2025-11-01",
    )
    found = [(u["date"], u["merchant"], u["amount"], u["score"]) for u in report["items"]]
    assert found == [
        ("2026-11-21", "FreshMart", "412.35", 17.77),
        ("2026-11-12", "City Parking", "12.00", 4.2),
    ]  # the cancelled 999.00 is not among them
    shop, parking = report["items"]
    assert [
        (r["by"], r["group"], r["median"], r["mad"], r["history"], r["score"]) for r in shop["reasons"]
    ] == [
        ("category", "groceries", "64.80", "15.10", 63, 15.52),  # with the corner shop's ten
        ("merchant", "FreshMart", "71.25", "12.95", 53, 17.77),  # 0.6745 * 341.10 / 12.95
    ]
    assert (shop["category"], shop["currency"], shop["description"], shop["score"]) == (
        "groceries",
        "EUR",
        "",
        17.77,
    )
    # Six parkings at exactly 5.00: no spread, unusual from twice the amount. The fuel in the
    # transport category spreads it so wide that 12.00 is nothing special there.
    assert [(r["by"], r["median"], r["mad"], r["score"], r["method"]) for r in parking["reasons"]] == [
        ("merchant", "5.00", "0.00", 4.2, "constant")  # 3.5 * 2.4 / 2
    ]
    assert parking["reasons"][0]["sentence"].startswith("12.00 EUR is 2.4 times the 5.00 EUR")
    assert [u["amount"] for u in insights(household, "unusual", limit=1)["items"]] == ["412.35"]
    assert insights(household, "unusual", days=5)["items"] == []  # 2026-11-26 on: nothing unusual


def test_recurring_payments_with_cadence_next_date_and_monthly_cost(household: dict[str, Any]) -> None:
    report = insights(household, "subscriptions")
    assert (report["date_from"], report["date_to"]) == ("2024-09-21", TODAY)  # 800 days
    rows = [
        (p["merchant"], p["cadence"], p["subscription"], p["typical_amount"], p["occurrences"],
         p["next_expected"], p["monthly_cost"], p["active"])
        for p in report["items"]
    ]  # fmt: skip
    assert rows == [
        ("FreshMart", "weekly", False, "71.25", 57, "2026-12-05", "308.75", True),  # 71.25 * 52 / 12
        ("Gym", "monthly", True, "29.00", 7, "2026-07-10", "29.00", False),  # stopped in June
        ("StreamFlix", "monthly", True, "12.99", 12, "2026-12-05", "12.99", True),
    ]  # the insurance paid twice in 800 days, the corner shop and the parking at no cadence
    shop, _, stream = report["items"]
    assert (stream["first_date"], stream["last_date"], stream["price_changed"], stream["currency"]) == (
        "2025-12-05",
        "2026-11-05",
        False,
        "EUR",
    )
    assert (shop["last_amount"], shop["price_changed"]) == ("52.10", True)  # after the 412.35
    longer = insights(household, "subscriptions", lookback=1100)["items"]
    assert [(p["merchant"], p["cadence"], p["next_expected"], p["monthly_cost"]) for p in longer] == [
        ("FreshMart", "weekly", "2026-12-05", "308.75"),
        ("SafeHome Insurance", "yearly", "2027-01-15", "29.95"),  # 359.40 / 12
        ("Gym", "monthly", "2026-07-10", "29.00"),
        ("StreamFlix", "monthly", "2026-12-05", "12.99"),
    ]


def test_another_household_sees_none_of_it(client: httpx.Client, household: dict[str, Any]) -> None:
    for path in ("unusual", "subscriptions"):
        answer = client.get(
            f"/api/v1/insights/{path}", params={"today": TODAY, "lookback": 1100, "after": household["token"]}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["items"] == []


def test_a_private_accounts_payments_are_hidden_from_other_members(
    server: Server, signup: Callable[..., Member]
) -> None:
    owner, partner = signup("Owner"), signup("Partner")
    verify(partner)
    with join(server.url, owner, partner) as shared:
        private = owner.client.post(
            "/api/v1/accounts", json={"name": "Mine", "currency": "EUR", "sharing": "none"}
        ).json()["id"]
        ours = owner.client.post("/api/v1/accounts", json={"name": "Ours", "currency": "EUR"}).json()["id"]
        months = [dt.date(2026, m, 3) for m in range(7, 12)]
        club = [entry(private, "50.00", on, "Secret Club", "leisure") for on in months]
        power = [entry(ours, "40.00", on, "Power Co", "utilities") for on in months]
        params: dict[str, Any] = {"today": TODAY, "after": record(owner.client, [*club, *power])}
        seen = {}
        for name, who in (("owner", owner.client), ("partner", shared)):
            answer = who.get("/api/v1/insights/subscriptions", params=params)
            seen[name] = [p["merchant"] for p in answer.json()["items"]]
        assert seen == {"owner": ["Secret Club", "Power Co"], "partner": ["Power Co"]}


@pytest.mark.parametrize(
    ("path", "params"),
    [("unusual", {"limit": 0}), ("unusual", {"limit": 501}), ("unusual", {"days": 0}),
     ("unusual", {"days": 367}), ("unusual", {"lookback": 10}), ("unusual", {"today": "yesterday"}),
     ("subscriptions", {"lookback": 5}), ("subscriptions", {"lookback": 3651}),
     ("subscriptions", {"today": "2026-13-01"}), ("subscriptions", {"after": "x"})],
)  # fmt: skip
def test_bad_parameters_are_problems(client: httpx.Client, path: str, params: dict[str, Any]) -> None:
    answer = client.get(f"/api/v1/insights/{path}", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["type"].endswith("validation")


def test_the_edges_of_the_calendar_are_no_server_error(household: dict[str, Any]) -> None:
    assert insights(household, "unusual", today="0001-01-05", days=366, lookback=3650)["items"] == []
    assert insights(household, "subscriptions", today="0001-01-05", lookback=3650)["items"] == []
    assert insights(household, "unusual", today="9999-12-31")["items"] == []
