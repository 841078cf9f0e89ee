"""Analytics over HTTP: spending by category, merchant and month, trends, reports in JSON
and CSV, the dashboard, and conversion at the household's recorded rates."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import httpx
import pytest

from tests.e2e.users import join, verify

pytestmark = pytest.mark.e2e


def record(client: httpx.Client, account: str, kind: str, amount: str, on: str, **more: Any) -> int:
    body = {"kind": kind, "account_id": account, "amount": amount, "date": on} | more
    recorded = client.post("/api/v1/transactions", json=body)
    assert recorded.status_code == 201, recorded.text
    return int(recorded.json()["consistency_token"])


@pytest.fixture
def household(client: httpx.Client) -> dict[str, Any]:
    euros = client.post("/api/v1/accounts", json={"name": "Euros", "currency": "EUR"}).json()["id"]
    dollars = client.post("/api/v1/accounts", json={"name": "Dollars", "currency": "USD"}).json()["id"]
    pounds = client.post("/api/v1/accounts", json={"name": "Pounds", "currency": "GBP"}).json()["id"]
    record(client, euros, "income", "3000.00", "2026-09-01", category="salary")
    record(client, euros, "income", "3000.00", "2026-10-01", category="salary")
    record(client, euros, "income", "3100.00", "2026-11-01", category="salary")
    record(client, euros, "expense", "400.00", "2026-09-10", category="groceries", merchant="Tesco")
    record(client, euros, "expense", "500.00", "2026-10-10", category="groceries", merchant="Tesco")
    record(client, euros, "expense", "300.00", "2026-11-03", category="groceries", merchant="Lidl")
    record(client, euros, "expense", "120.00", "2026-11-05", category="restaurants", merchant="Nandos")
    # Paid in dollars from the euro account: records the rate USD -> EUR 0.90.
    record(client, euros, "expense", "100.00", "2026-11-06", category="travel", currency="USD", rate="0.9")
    record(client, dollars, "expense", "50.00", "2026-11-07", category="restaurants", merchant="Shake Shack")
    token = record(client, pounds, "expense", "20.00", "2026-11-08", category="books")
    return {"euros": euros, "dollars": dollars, "token": token}


def test_spending_by_category_converts_at_recorded_rates(
    client: httpx.Client, household: dict[str, Any]
) -> None:
    answer = client.get(
        "/api/v1/analytics/spending",
        params={"date_from": "2026-11-01", "date_to": "2026-11-30", "after": household["token"]},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["currency"] == "EUR"
    assert [(r["key"], r["amount"], r["count"]) for r in report["rows"]] == [
        (["groceries"], "300.00", 1),
        (["restaurants"], "165.00", 2),  # 120 EUR + 50 USD at 0.90
        (["travel"], "90.00", 1),
    ]
    assert report["total"] == "555.00"
    assert [(r["source"], r["target"], r["rate"], r["recorded_on"]) for r in report["rates"]] == [
        ("USD", "EUR", "0.9", "2026-11-06")
    ]
    assert report["unconverted"] == {"GBP": "20.00"}  # no rate recorded for pounds
    merchants = client.get(
        "/api/v1/analytics/spending",
        params={
            "group_by": "merchant",
            "date_from": "2026-09-01",
            "date_to": "2026-11-30",
            "currency": "USD",
        },
    ).json()
    assert merchants["rows"][0] == {"key": ["Tesco"], "amount": "1000.00", "count": 2}  # 900 EUR at 1/0.9


def test_trends_month_over_month(client: httpx.Client, household: dict[str, Any]) -> None:
    trends = client.get(
        "/api/v1/analytics/trends", params={"months": 2, "until": "2026-11-30", "after": household["token"]}
    ).json()
    assert [(m["month"], m["spent"], m["earned"], m["net"], m["spent_change"]) for m in trends["months"]] == [
        ("2026-10", "500.00", "3000.00", "2500.00", 25.0),
        ("2026-11", "555.00", "3100.00", "2545.00", 11.0),
    ]
    assert trends["months"][1]["spent_rolling_3"] == "485.00"  # (400 + 500 + 555) / 3


def test_reports_in_json_and_csv(client: httpx.Client, household: dict[str, Any]) -> None:
    body = {"group_by": ["month", "category"], "date_from": "2026-10-01", "kind": "expense"}
    report = client.post("/api/v1/analytics/reports", json=body).json()
    assert [r["key"] for r in report["rows"]] == [
        ["2026-10", "groceries"], ["2026-11", "groceries"], ["2026-11", "restaurants"], ["2026-11", "travel"],
    ]  # fmt: skip
    as_csv = client.post("/api/v1/analytics/reports", json=body | {"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0] == ["month", "category", "amount", "count", "currency"]
    assert rows[1] == ["2026-10", "groceries", "500.00", "1", "EUR"]
    for bad in ({"group_by": []}, {"group_by": ["colour"]}, {"group_by": ["month", "month"]},
                {"group_by": ["month"], "date_from": "2026-12-01", "date_to": "2026-01-01"}):  # fmt: skip
        refused = client.post("/api/v1/analytics/reports", json=bad)
        assert refused.status_code in (400, 422), bad
        assert refused.headers["content-type"].startswith("application/problem+json")


def test_the_dashboard_in_one_call(client: httpx.Client, household: dict[str, Any]) -> None:
    client.post(
        "/api/v1/budgets", json={"name": "Food", "categories": ["food"], "limit": "600.00", "currency": "EUR"}
    )
    goal = client.post(
        "/api/v1/goals",
        json={"name": "Trip", "target": "9000.00", "currency": "EUR", "account_ids": [household["euros"]]},
    )
    board = client.get(
        "/api/v1/analytics/dashboard",
        params={"today": "2026-11-20", "after": goal.json()["consistency_token"]},
    ).json()
    assert board["currency"] == "EUR"
    assert [a["name"] for a in board["accounts"]] == ["Euros", "Dollars", "Pounds"]  # in opening order
    month = board["this_month"]
    assert (month["start"], month["spent"], month["earned"]) == ("2026-11-01", "555.00", "3100.00")
    assert [(c["category"], c["share"]) for c in month["top_categories"]] == [
        ("groceries", 54.05), ("restaurants", 29.73), ("travel", 16.22),
    ]  # fmt: skip
    # 300 + 120 EUR and 50 USD at the recorded 0.90
    assert [(b["name"], b["current"]["spent"]) for b in board["budgets"]] == [("Food", "465.00")]
    assert [g["name"] for g in board["goals"]] == ["Trip"]
    assert len(board["recent"]) == 5


def test_budget_vs_actual_converts_other_currencies_at_the_recorded_rates(
    client: httpx.Client, household: dict[str, Any]
) -> None:
    made = [
        client.post("/api/v1/budgets", json=body)
        for body in (
            {"name": "Books", "categories": ["books"], "limit": "50.00", "currency": "EUR"},
            {
                "name": "Food",
                "categories": ["food"],
                "limit": "600.00",
                "currency": "EUR",
                "thresholds": [50, 80],
            },
            {"name": "Food in dollars", "categories": ["food"], "limit": "1000.00", "currency": "USD"},
        )
    ]
    assert [m.status_code for m in made] == [201, 201, 201], [m.text for m in made]
    token = max(m.json()["consistency_token"] for m in made)
    answer = client.get("/api/v1/analytics/budget", params={"on": "2026-11-20", "after": token})
    assert answer.status_code == 200, answer.text
    by_name = {b["name"]: b["current"] for b in answer.json()}
    food = by_name["Food"]
    assert (food["start"], food["end"], food["spent"], food["remaining"]) == (
        "2026-11-01", "2026-11-30", "465.00", "135.00",
    )  # fmt: skip  # groceries 300 + restaurants 120 EUR + 50 USD at 0.90 (travel is not food)
    assert (food["percent"], food["thresholds_reached"]) == (77.5, [50])
    assert food["rates"] == [{"source": "USD", "target": "EUR", "rate": "0.9", "recorded_on": "2026-11-06"}]
    assert food["unconverted"] == {}
    books = by_name["Books"]  # 20 GBP: no rate recorded for pounds, so not counted, and said
    assert (books["spent"], books["rates"], books["unconverted"]) == ("0.00", [], {"GBP": "20.00"})
    dollars = by_name["Food in dollars"]  # 420 EUR at 1/0.90 and 50 USD
    assert (dollars["spent"], [r["source"] for r in dollars["rates"]]) == ("516.67", ["EUR"])
    october = client.get("/api/v1/analytics/budget", params={"on": "2026-10-15"}).json()
    assert {b["name"]: b["current"]["spent"] for b in october} == {
        "Books": "0.00", "Food": "500.00", "Food in dollars": "555.56",
    }  # fmt: skip
    one = client.get(f"/api/v1/budgets/{made[1].json()['id']}", params={"on": "2026-11-20"}).json()
    assert one["current"] == food  # the budget's own endpoint answers the same
    refused = client.get("/api/v1/analytics/budget", params={"on": "someday"})
    assert refused.status_code in (400, 422), refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_goals_with_progress_from_the_linked_balances(
    client: httpx.Client, household: dict[str, Any]
) -> None:
    made = client.post(
        "/api/v1/goals",
        json={"name": "Trip", "target": "10000.00", "currency": "EUR", "account_ids": [household["euros"]]},
    )
    assert made.status_code == 201, made.text
    refused = client.post(
        "/api/v1/goals",
        json={"name": "Mixed", "target": "10.00", "currency": "EUR", "account_ids": [household["dollars"]]},
    )
    assert refused.status_code in (400, 422), refused.text  # a goal counts accounts of its currency only
    goals = client.get("/api/v1/analytics/goals", params={"after": made.json()["consistency_token"]}).json()
    assert [(g["name"], g["saved"], g["remaining"], g["percent"], g["achieved"]) for g in goals] == [
        ("Trip", "7690.00", "2310.00", 76.9, False)
    ]  # 9,100 earned - 1,410 spent from the euro account (90 of it paid in USD)
    today = dt.date.today().isoformat()
    assert goals[0] == client.get(f"/api/v1/goals/{made.json()['id']}", params={"today": today}).json()


def test_analytics_leave_out_accounts_hidden_from_the_viewer(server: Any, signup: Any) -> None:
    owner, partner = signup("Owner"), signup("Partner")
    verify(partner)
    shared = join(server.url, owner, partner)
    private = owner.client.post(
        "/api/v1/accounts", json={"name": "Mine", "currency": "EUR", "sharing": "none"}
    ).json()["id"]
    common = owner.client.post("/api/v1/accounts", json={"name": "Ours", "currency": "EUR"}).json()["id"]
    record(owner.client, private, "expense", "70.00", "2026-11-02", category="gifts")
    token = record(owner.client, common, "expense", "30.00", "2026-11-02", category="groceries")
    period = {"date_from": "2026-11-01", "date_to": "2026-11-30", "after": token}
    mine = owner.client.get("/api/v1/analytics/spending", params=period).json()
    assert [(r["key"], r["amount"]) for r in mine["rows"]] == [(["gifts"], "70.00"), (["groceries"], "30.00")]
    with shared:
        theirs = shared.get("/api/v1/analytics/spending", params=period).json()
        assert [(r["key"], r["amount"]) for r in theirs["rows"]] == [(["groceries"], "30.00")]
        board = shared.get(
            "/api/v1/analytics/dashboard", params={"today": "2026-11-20", "after": token}
        ).json()
        assert board["this_month"]["spent"] == "30.00"
        assert [a["name"] for a in board["accounts"]] == ["Ours"]
