"""Categories, rules and the learned categoriser over HTTP, with the real read models."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ops.sample_data import household_year

pytestmark = pytest.mark.e2e


def account(client: httpx.Client, name: str = "Current") -> str:
    opened = client.post("/api/v1/accounts", json={"name": name, "currency": "GBP"})
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


def spend(client: httpx.Client, account_id: str, description: str, **fields: Any) -> httpx.Response:
    body = {"kind": "expense", "account_id": account_id, "amount": "4.20", "date": "2026-11-02"}
    recorded = client.post("/api/v1/transactions", json=body | {"description": description} | fields)
    assert recorded.status_code == 201, recorded.text
    return recorded


def read(client: httpx.Client, path: str, after: httpx.Response) -> Any:
    answer = client.get(path, params={"after": after.json()["consistency_token"]})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_tree_can_grow_rename_merge_and_archive(client: httpx.Client) -> None:
    tree = client.get("/api/v1/categories").json()
    assert {
        "name": "groceries",
        "parent": "food",
        "kind": "expense",
        "archived": False,
        "builtin": True,
    } in tree
    wallet = account(client)
    bought = spend(client, wallet, "Seeds", category="Garden")  # unknown: becomes the household's own
    tid = bought.json()["id"]
    assert read(client, f"/api/v1/transactions/{tid}", bought)["category"] == "Garden"
    added = client.post("/api/v1/categories", json={"name": "Plants", "parent": "housing"})
    assert added.status_code == 201, added.text
    renamed = client.put("/api/v1/categories/Garden", json={"name": "Gardening"})
    assert renamed.status_code == 200, renamed.text
    assert read(client, f"/api/v1/transactions/{tid}", renamed)["category"] == "Gardening"
    merged = client.post("/api/v1/categories/Gardening/merge", json={"into": "Plants"})
    assert merged.status_code == 200, merged.text
    moved = read(client, f"/api/v1/transactions/{tid}", merged)
    assert moved["category"] == "Plants"
    names = {c["name"]: c for c in read(client, "/api/v1/categories", merged)}
    assert "Gardening" not in names
    assert names["Plants"]["parent"] == "housing"
    # The history keeps what was recorded: the transaction's own events still say Garden.
    listed = read(client, "/api/v1/transactions?category=plants", merged)["items"]
    assert [t["id"] for t in listed] == [tid]
    archived = client.post("/api/v1/categories/Plants/archive")
    assert archived.status_code == 200
    refused = client.post(
        "/api/v1/transactions",
        json={
            "kind": "expense",
            "account_id": wallet,
            "amount": "1.00",
            "date": "2026-11-03",
            "category": "plants",
        },
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "archived" in refused.json()["detail"]
    for bad in ({"name": "a/b"}, {"name": "x:y"}, {"name": ""}, {"name": "ok", "kind": "transfer"}):
        assert client.post("/api/v1/categories", json=bad).status_code in (400, 422), bad
    assert client.put("/api/v1/categories/nowhere", json={"name": "x"}).status_code == 404
    assert client.post("/api/v1/categories", json={"name": "GROCERIES"}).status_code == 409


def test_a_rule_categorises_new_transactions_with_provenance(client: httpx.Client) -> None:
    wallet = account(client)
    rule = {
        "name": "Coffee shops",
        "triggers": [{"field": "merchant", "op": "contains", "value": "costa"}],
        "actions": {"set_category": "coffee", "add_tags": ["caffeine"]},
    }
    created = client.post("/api/v1/rules", json=rule)
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    assert read(client, f"/api/v1/rules/{rule_id}", created)["actions"]["set_category"] == "coffee"
    ruled = spend(client, wallet, "CARD PAYMENT 1234", merchant="COSTA COFFEE")
    seen = read(client, f"/api/v1/transactions/{ruled.json()['id']}", ruled)
    assert (seen["category"], seen["tags"], seen["categorization_source"], seen["rule_id"]) == (
        "coffee",
        ["caffeine"],
        "rule",
        rule_id,
    )
    manual = spend(client, wallet, "Costa with friends", merchant="COSTA", category="restaurants")
    kept = read(client, f"/api/v1/transactions/{manual.json()['id']}", manual)
    assert (kept["category"], kept["categorization_source"], kept["tags"]) == (
        "restaurants",
        "manual",
        ["caffeine"],
    )
    bad = rule | {"triggers": [{"field": "amount", "op": "contains", "value": "1"}]}
    assert client.post("/api/v1/rules", json=bad).status_code == 422
    assert (
        client.post("/api/v1/rules", json=rule | {"actions": {"set_category": "nowhere"}}).status_code == 404
    )


def test_a_rule_run_is_previewed_applied_and_undone_as_one_step(client: httpx.Client) -> None:
    wallet = account(client)
    ids = [spend(client, wallet, f"DD NETFLIX.COM {n}").json()["id"] for n in range(3)]
    other = spend(client, wallet, "SPOTIFY").json()["id"]
    rule = {
        "name": "Netflix",
        "triggers": [{"field": "description", "op": "starts_with", "value": "dd netflix"}],
        "actions": {"set_category": "streaming"},
    }
    rule_id = client.post("/api/v1/rules", json=rule).json()["id"]
    preview = client.post(f"/api/v1/rules/{rule_id}/runs", json={"preview": True})
    assert preview.status_code == 200, preview.text
    diff = preview.json()["changes"]
    assert sorted(d["transaction_id"] for d in diff) == sorted(ids)
    assert all(d["changes"]["category"] == [None, "streaming"] for d in diff)
    ran = client.post(f"/api/v1/rules/{rule_id}/runs", json={})
    assert ran.status_code == 201, ran.text
    run_id = ran.json()["run_id"]
    for tid in ids:
        assert read(client, f"/api/v1/transactions/{tid}", ran)["category"] == "streaming"
    assert read(client, f"/api/v1/transactions/{other}", ran)["category"] is None
    runs = read(client, "/api/v1/rules/runs", ran)
    assert [(r["run_id"], r["transactions"], r["undone"]) for r in runs] == [(run_id, 3, False)]
    again = client.post(f"/api/v1/rules/{rule_id}/runs", json={})
    assert again.status_code == 422  # nothing left to change
    undone = client.post(f"/api/v1/rules/runs/{run_id}/undo")
    assert undone.status_code == 200, undone.text
    for tid in ids:
        back = read(client, f"/api/v1/transactions/{tid}", undone)
        assert (back["category"], back["categorization_source"]) == (None, None)
    assert client.post(f"/api/v1/rules/runs/{run_id}/undo").status_code == 409
    history = client.get(f"/api/v1/transactions/{ids[0]}/history").json()
    assert [e["type"] for e in history] == [
        "Transaction.Recorded",
        "Transaction.RuleApplied",
        "Transaction.RuleUndone",
    ]
    applied = history[1]["data"]
    assert (applied["rule_id"], applied["run_id"]) == (rule_id, run_id)
    assert applied["changes"]["category"] == [None, "streaming"]  # which rule changed what
    assert history[2]["data"]["restored"]["category"] is None
    assert read(client, "/api/v1/rules/runs", undone)[0]["undone"] is True


def test_the_learned_categoriser_fills_in_from_the_households_history(client: httpx.Client) -> None:
    wallet = account(client, "Everyday")
    year = [t for t in household_year(seed=3) if t.kind == "expense"][:400]
    items = [
        {
            "kind": "expense",
            "account_id": wallet,
            "amount": str(t.amount),
            "date": t.date.isoformat(),
            "description": t.description,
            "merchant": t.merchant,
            "category": t.category,
        }
        for t in year
    ]
    seeded = client.post("/api/v1/transactions/bulk", json={"transactions": items})
    assert seeded.status_code == 201, seeded.text
    read(client, "/api/v1/transactions?limit=1", seeded)
    asked = client.post(
        "/api/v1/transactions/categorize",
        json={
            "items": [{"description": "CARD PAYMENT TO TESCO STORES 777 YORK", "merchant": "TESCO STORES"}]
        },
    )
    assert asked.status_code == 200, asked.text
    best = asked.json()[0]["suggestions"][0]
    assert best["category"] == "groceries"
    assert best["confidence"] >= 0.7
    learned = spend(client, wallet, "POS NETFLIX.COM 42", merchant="NETFLIX.COM")
    seen = read(client, f"/api/v1/transactions/{learned.json()['id']}", learned)
    assert seen["category"] == "streaming"
    assert seen["categorization_source"] == "ml"
    assert 0.7 <= seen["confidence"] <= 1
    vague = spend(client, wallet, "zzz qqq")  # nothing learned says anything: left uncategorised
    assert read(client, f"/api/v1/transactions/{vague.json()['id']}", vague)["category"] is None
    assert client.post("/api/v1/transactions/categorize", json={"items": []}).status_code in (400, 422)
