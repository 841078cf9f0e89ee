"""Household settlement over HTTP: shared expenses, who owes whom, settling up."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server
from tests.e2e.users import Member, join, verify

pytestmark = pytest.mark.e2e
SignUp = Callable[..., Member]


def account(client: httpx.Client, name: str) -> str:
    opened = client.post("/api/v1/accounts", json={"name": name, "currency": "EUR"})
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


def expense(client: httpx.Client, account_id: str, amount: str, description: str = "shared") -> str:
    body = {"kind": "expense", "account_id": account_id, "amount": amount, "date": "2026-11-01"}
    recorded = client.post("/api/v1/transactions", json=body | {"description": description})
    assert recorded.status_code == 201, recorded.text
    return str(recorded.json()["id"])


def share(client: httpx.Client, transaction_id: str, **body: Any) -> httpx.Response:
    return client.post("/api/v1/settlement/shares", json={"transaction_id": transaction_id, **body})


def view(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    seen = client.get("/api/v1/settlement", params={"after": response.headers["X-Consistency-Token"]})
    assert seen.status_code == 200, seen.text
    return dict(seen.json())


def balances(seen: dict[str, Any], names: dict[str, str]) -> dict[str, str]:
    (eur,) = seen["currencies"]
    return {names[m["member_id"]]: m["balance"] for m in eur["members"]}


def transfers(seen: dict[str, Any], names: dict[str, str]) -> list[tuple[str, str, str]]:
    (eur,) = seen["currencies"]
    return [(names[t["from_member"]], names[t["to_member"]], t["amount"]) for t in eur["transfers"]]


def problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


Household = tuple[dict[str, httpx.Client], dict[str, str]]


@pytest.fixture
def household(server: Server, signup: SignUp) -> Iterator[Household]:
    """Ana (owner), Ben and Cid in one household: their clients, and member id -> name."""
    ana, ben, cid = signup("Ana"), signup("Ben"), signup("Cid")
    clients = {"ana": ana.client}
    for name, guest in (("ben", ben), ("cid", cid)):
        verify(guest)
        clients[name] = join(server.url, ana, guest)
    yield clients, {ana.user_id: "ana", ben.user_id: "ben", cid.user_id: "cid"}
    clients["ben"].close()
    clients["cid"].close()


def test_shares_balances_settle_ups_and_cancellations(
    household: Household,
) -> None:
    clients, names = household
    ana, ben, cid = clients["ana"], clients["ben"], clients["cid"]
    ids = {n: m for m, n in names.items()}
    ana_card, ben_card = account(ana, "Ana's card"), account(ben, "Ben's card")

    dinner = expense(ana, ana_card, "90.00", "dinner")
    assert share(ana, dinner).status_code == 201  # equal, all members, paid by the card's owner
    rent = expense(ben, ben_card, "60.00", "rent")
    by_ratio = share(ben, rent, method="ratio", weights={ids["ana"]: "1", ids["ben"]: "2"})
    assert by_ratio.status_code == 201, by_ratio.text
    incomes = {ids["ana"]: "3000.00", ids["ben"]: "1000.00", ids["cid"]: "2000.00"}
    assert (
        cid.put("/api/v1/settlement/incomes", json={"currency": "EUR", "incomes": incomes}).status_code == 200
    )
    trip = expense(ana, ana_card, "120.00", "trip")
    by_income = share(cid, trip, method="income")
    assert by_income.status_code == 201, by_income.text

    seen = view(ana, by_income)
    # ana paid 210, owes 30 + 20 + 60; ben paid 60, owes 30 + 40 + 20; cid owes 30 + 40
    assert balances(seen, names) == {"ana": "100.00", "ben": "-30.00", "cid": "-70.00"}
    assert transfers(seen, names) == [("cid", "ana", "70.00"), ("ben", "ana", "30.00")]
    (eur,) = seen["currencies"]
    assert {names[m["member_id"]]: (m["paid"], m["owed"]) for m in eur["members"]} == {
        "ana": ("210.00", "110.00"),
        "ben": ("60.00", "90.00"),
        "cid": ("0.00", "70.00"),
    }
    assert {m["display_name"] for m in eur["members"]} == {"Ana", "Ben", "Cid"}
    listed = ben.get("/api/v1/settlement/shares").json()
    assert {s["description"]: {names[p["member_id"]]: p["amount"] for p in s["shares"]} for s in listed} == {
        "dinner": {"ana": "30.00", "ben": "30.00", "cid": "30.00"},
        "rent": {"ana": "20.00", "ben": "40.00"},
        "trip": {"ana": "60.00", "ben": "20.00", "cid": "40.00"},
    }

    # Ben pays Ana back through their accounts: a transfer is recorded in the same write.
    body = {
        "from_member": ids["ben"], "to_member": ids["ana"], "amount": "30.00", "currency": "EUR",
        "from_account_id": ben_card, "to_account_id": ana_card, "date": "2026-11-05",
    }  # fmt: skip
    key = {"Idempotency-Key": f"settle-{uuid.uuid4()}"}
    settled = ben.post("/api/v1/settlement/settle-ups", json=body, headers=key)
    assert settled.status_code == 201, settled.text
    again = ben.post("/api/v1/settlement/settle-ups", json=body, headers=key)
    assert again.status_code == 201 and again.json() == settled.json()
    transfer = settled.json()["transaction_id"]
    seen = view(ana, again)
    assert balances(seen, names) == {"ana": "70.00", "ben": "0.00", "cid": "-70.00"}
    assert transfers(seen, names) == [("cid", "ana", "70.00")]
    listed = ana.get("/api/v1/transactions", params={"kind": "transfer"}).json()["items"]
    assert [(t["id"], t["amount"], t["account_id"], t["to_account_id"]) for t in listed] == [
        (transfer, "30.00", ben_card, ana_card)
    ]

    cash = cid.post(
        "/api/v1/settlement/settle-ups",
        json={"from_member": ids["cid"], "to_member": ids["ana"], "amount": "70.00", "currency": "EUR"},
    )
    assert cash.status_code == 201 and cash.json()["transaction_id"] is None
    seen = view(ana, cash)
    assert balances(seen, names) == {"ana": "0.00", "ben": "0.00", "cid": "0.00"}
    assert transfers(seen, names) == []

    # The rent is cancelled: its shares stop counting (ana owed 20 of it, ben paid it all).
    cancelled = ben.delete(f"/api/v1/transactions/{rent}")
    assert cancelled.status_code == 200, cancelled.text
    seen = view(ana, cancelled)
    assert balances(seen, names) == {"ana": "20.00", "ben": "-20.00", "cid": "0.00"}
    assert transfers(seen, names) == [("ben", "ana", "20.00")]
    rows = ana.get("/api/v1/settlement/shares").json()
    assert [s["counts"] for s in rows if s["transaction_id"] == rent] == [False]

    # A share is replaced by removing it and sharing again.
    problem(share(ana, dinner), 409)
    removed = ana.delete(f"/api/v1/settlement/shares/{dinner}")
    assert removed.status_code == 200, removed.text
    reshared = share(ana, dinner, members=[ids["ana"], ids["cid"]])
    assert reshared.status_code == 201, reshared.text
    seen = view(ana, reshared)
    # dinner is 45 / 45 between ana and cid now: ana paid 210, owes 45 + 60, received 100;
    # ben owes 20 (trip), paid out 30; cid owes 45 + 40, paid out 70
    assert balances(seen, names) == {"ana": "5.00", "ben": "10.00", "cid": "-15.00"}
    assert transfers(seen, names) == [("cid", "ben", "10.00"), ("cid", "ana", "5.00")]


def test_another_households_transaction_is_404_and_changes_nothing(
    household: Household, signup: SignUp
) -> None:
    clients, _ = household
    ana = clients["ana"]
    secret = expense(ana, account(ana, "Joint"), "77.00", "secret")
    intruder = signup("Intruder").client
    problem(share(intruder, secret), 404)
    problem(intruder.delete(f"/api/v1/settlement/shares/{secret}"), 404)
    assert intruder.get("/api/v1/settlement").json() == {"currencies": [], "incomes": []}
    shared = share(ana, secret)
    assert shared.status_code == 201, shared.text
    (eur,) = view(ana, shared)["currencies"]
    # 7,700 cents in three: 2,566.67 each; the two lowest member ids take the left-over cents
    assert [m["owed"] for m in eur["members"]] == ["25.67", "25.67", "25.66"]
    assert sorted(m["paid"] for m in eur["members"]) == ["0.00", "0.00", "77.00"]
    assert "secret" not in intruder.get("/api/v1/settlement/shares").text


def test_bad_input_answers_4xx_problem_json_and_changes_nothing(
    household: Household,
) -> None:
    clients, names = household
    ana = clients["ana"]
    ids = {n: m for m, n in names.items()}
    card = account(ana, "Card")
    spent = expense(ana, card, "10.00")
    earned = ana.post(
        "/api/v1/transactions",
        json={"kind": "income", "account_id": card, "amount": "5.00", "date": "2026-11-01"},
    ).json()
    settle = {"from_member": ids["ben"], "to_member": ids["ana"], "currency": "EUR"}
    refused = [
        ana.post("/api/v1/settlement/settle-ups", json=settle | {"amount": 12.5}),  # a float
        ana.post("/api/v1/settlement/settle-ups", json=settle | {"amount": "0"}),
        ana.post("/api/v1/settlement/settle-ups", json=settle | {"amount": "1.00", "to_member": ids["ben"]}),
        ana.post("/api/v1/settlement/settle-ups", json=settle | {"amount": "1.00", "from_account_id": card}),
        ana.post("/api/v1/settlement/settle-ups", json=settle | {"amount": "1.00", "tip": "2"}),
        share(ana, spent, members=[ids["ana"], str(uuid.uuid4())]),  # not a member
        share(ana, spent, method="ratio"),  # without weights
        share(ana, spent, method="ratio", weights={ids["ana"]: 1}),  # a JSON number
        share(ana, spent, method="income"),  # no incomes set
        share(ana, spent, colour="red"),  # an unknown field
        share(ana, earned["id"]),  # not an expense
        ana.put(
            "/api/v1/settlement/incomes", json={"currency": "EUR", "incomes": {str(uuid.uuid4()): "1.00"}}
        ),
    ]
    for response in refused:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
    assert [r.status_code for r in refused[5:7]] == [404, 422]
    token = {"X-Consistency-Token": str(earned["consistency_token"])}
    assert ana.get("/api/v1/settlement", headers=token).json() == {"currencies": [], "incomes": []}
    assert ana.get("/api/v1/settlement/shares").json() == []
