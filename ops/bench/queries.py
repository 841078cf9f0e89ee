"""Workload: the transaction list and the dashboard on a household with many transactions,
timed like ops/load/dashboard_latency.py (whose filling and timing it reuses)."""

from __future__ import annotations

import uuid

import httpx

from ops.bench.http_load import open_accounts, sign_up
from ops.bench.measure import Steps, percentile
from ops.bench.results import Line, Target, WorkloadResult
from ops.bench.scratch import api_server
from ops.bench.sizes import Sizes

PLANS = (
    ("/api/v1/budgets", {"name": "Food", "categories": ["food"], "limit": "900", "currency": "EUR"}),
    ("/api/v1/budgets", {"name": "Home", "categories": ["housing"], "limit": "2000", "currency": "EUR"}),
)


def plan(client: httpx.Client, accounts: list[str], conninfo: str) -> None:
    """Budgets and a goal, so that the dashboard has all its parts; then project them."""
    from projections.registry import PROJECTIONS
    from projections.runner import ProjectionRunner

    for path, body in PLANS:
        client.post(path, json=body).raise_for_status()
    goal = {"name": "Trip", "target": "90000", "currency": "EUR", "account_ids": accounts[:2]}
    client.post("/api/v1/goals", json=goal).raise_for_status()
    for name in ("budgets", "goals"):
        runner = ProjectionRunner(PROJECTIONS[name], conninfo)
        runner.catch_up()
        runner.close()


def line(name: str, samples: list[float], health: list[float]) -> Line:
    return Line(
        f"{name} p95",
        percentile(samples, 0.95),
        "ms",
        "GET /health",
        percentile(health, 0.95),
        Target("<=", 50),
    )


def summary(samples: list[float]) -> dict[str, float]:
    return {f"p{q}_ms": percentile(samples, q / 100) for q in (50, 95, 99)}


def run(conninfo: str, sizes: Sizes, steps: Steps, env: dict[str, int]) -> WorkloadResult:
    from ops.load.dashboard_latency import fill, timed

    result = WorkloadResult(
        "queries", f"Transaction list and dashboard at {sizes.transactions:,} transactions"
    )
    with api_server(conninfo) as served:
        token, household = sign_up(served.url)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=served.url, headers=headers, timeout=60) as client:
            accounts = open_accounts(client, 4)
            with steps.step(f"queries: record and project {sizes.transactions:,} transactions"):
                recorded, projected = fill(conninfo, uuid.UUID(household), accounts, sizes.transactions)
            plan(client, accounts, conninfo)
            with steps.step(f"queries: {sizes.requests} sequential requests of each"):
                timed(client, "/api/v1/analytics/dashboard", 20)  # warm up
                health = timed(client, "/health", sizes.requests)
                dashboard = timed(client, "/api/v1/analytics/dashboard", sizes.requests)
                listing = timed(client, "/api/v1/transactions", sizes.requests)
    result.lines = [
        line("GET /api/v1/transactions", listing, health),
        line("GET /api/v1/analytics/dashboard", dashboard, health),
    ]
    result.details = {
        "transactions": sizes.transactions,
        "record_seconds": recorded,
        "project_seconds": projected,
        "health": summary(health),
        "list": summary(listing),
        "dashboard": summary(dashboard),
    }
    result.notes.append(
        f"{sizes.transactions:,} transactions recorded in {recorded:.1f} s and projected in "
        f"{projected:.1f} s (ops/load/dashboard_latency.fill); {sizes.requests} sequential requests"
        " of each, one client."
    )
    return result
