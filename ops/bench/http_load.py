"""Workload: commands over HTTP (POST /api/v1/transactions) from concurrent clients, against
the same server answering GET /health to the same clients."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ops.bench.measure import CpuShares, Steps, percentile
from ops.bench.results import Line, Target, WorkloadResult
from ops.bench.scratch import api_server
from ops.bench.sizes import Sizes

USER = {"email": "bench@example.org", "password": "a long and unusual passphrase", "display_name": "Bench"}
Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def sign_up(url: str) -> tuple[str, str]:
    """Register the bench user; its access token and household id."""
    registered = httpx.post(f"{url}/api/v1/users/register", json=USER, timeout=30)
    registered.raise_for_status()
    login = {k: USER[k] for k in ("email", "password")}
    answer = httpx.post(f"{url}/api/v1/users/login", json=login, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["access_token"]), str(registered.json().get("household_id", ""))


def open_accounts(client: httpx.Client, count: int) -> list[str]:
    opened = []
    for n in range(count):
        answer = client.post("/api/v1/accounts", json={"name": f"Account {n}", "currency": "EUR"})
        answer.raise_for_status()
        opened.append(str(answer.json()["id"]))
    return opened


@dataclass
class Run:
    """What one timed run saw: latencies (ms) of the requests it timed, statuses, rate."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "requests": len(self.latencies),
            "requests_per_second": self.rate,
            **{f"p{q}_ms": percentile(self.latencies, q / 100) for q in (50, 95, 99)},
            "max_ms": max(self.latencies, default=0.0),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "cpu_cores": self.cpu,
        }


async def clients(client: httpx.AsyncClient, send: Send, count: int, seconds: float, run: Run | None) -> None:
    """``count`` clients sending back to back for ``seconds`` (timed into ``run`` if given)."""
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            answer = await send(client)
            if run is not None:
                run.latencies.append((time.perf_counter() - began) * 1000)
                run.statuses[answer.status_code] += 1

    await asyncio.gather(*(one() for _ in range(count)))


async def drive(url: str, token: str, send: Send, sizes: Sizes, server_pid: int) -> Run:
    """Warm up, then time ``sizes.seconds`` of ``sizes.clients`` concurrent clients."""
    limits = httpx.Limits(max_connections=sizes.clients, max_keepalive_connections=sizes.clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:
        await clients(client, send, sizes.clients, min(2.0, sizes.seconds / 2), None)
        run, cpu = Run(), CpuShares(server_pid)
        cpu.start()
        began = time.perf_counter()
        await clients(client, send, sizes.clients, sizes.seconds, run)
        run.seconds = time.perf_counter() - began
        run.cpu = cpu.stop()
    return run


def recorder(accounts: list[str]) -> Send:
    """POST an income of 1.00 to the accounts in turn (incomes never meet a balance limit)."""
    turn = itertools.cycle(accounts)
    today = dt.date.today().isoformat()

    def send(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        body = {
            "kind": "income",
            "account_id": next(turn),
            "amount": "1.00",
            "date": today,
            "description": "bench",
        }
        return client.post("/api/v1/transactions", json=body)

    return send


def health(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
    return client.get("/health")


def lines(commands: Run, baseline: Run) -> list[Line]:
    c, b = commands.summary(), baseline.summary()
    name = "POST /api/v1/transactions"
    return [
        Line(name, commands.rate, "req/s", "GET /health", baseline.rate, Target(">=", 1500)),
        Line(f"{name} p50", c["p50_ms"], "ms", "GET /health", b["p50_ms"]),
        Line(f"{name} p95", c["p95_ms"], "ms", "GET /health", b["p95_ms"]),
        Line(f"{name} p99", c["p99_ms"], "ms", "GET /health", b["p99_ms"], Target("<=", 50)),
    ]


def cpu_note(label: str, run: Run) -> str:
    cpu = run.cpu
    return (
        f"{label}: the load generator (this Python process) used {cpu.get('client_cores', 0):.2f} cores, "
        f"the API process {cpu.get('server_cores', 0):.2f}, PostgreSQL {cpu.get('postgres_cores', 0):.2f}, "
        f"the machine {cpu.get('machine_cores', 0):.2f} of {os.cpu_count()}."
    )


def run(conninfo: str, sizes: Sizes, steps: Steps, env: dict[str, int]) -> WorkloadResult:
    result = WorkloadResult("http", f"Commands over HTTP, {sizes.clients} concurrent clients")
    with api_server(conninfo) as served:
        token, _ = sign_up(served.url)
        with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            accounts = open_accounts(c, 64 if sizes.clients >= 32 else 8)
        with steps.step(f"http: POST /api/v1/transactions for {sizes.seconds:g}s"):
            commands = asyncio.run(drive(served.url, token, recorder(accounts), sizes, served.pid))
        with steps.step(f"http: GET /health for {sizes.seconds:g}s"):
            baseline = asyncio.run(drive(served.url, token, health, sizes, served.pid))
    result.lines = lines(commands, baseline)
    result.details = {"commands": commands.summary(), "health": baseline.summary(), "accounts": len(accounts)}
    failed = sum(n for status, n in commands.statuses.items() if status >= 300)
    result.notes += [
        f"{sizes.clients} httpx AsyncClient clients on keep-alive connections, {sizes.seconds:g} s each "
        f"after a warm-up; {failed} of {len(commands.latencies)} commands were not 2xx. The server runs with "
        "FISCAFLOW_RUN_PROJECTORS=false, FISCAFLOW_RUN_WORKERS=false and no rate limit.",
        cpu_note("commands", commands),
        cpu_note("health", baseline)
        + f" The client shares the {os.cpu_count()} cores with the server and PostgreSQL:"
        " it caps the baseline.",
    ]
    return result
