"""Workload: commands over HTTP (POST /api/v1/transactions) from concurrent clients, against
the same server answering GET /health to the same clients.

The load comes from wrk where it is installed (a C load generator: about 0.1 core for
thousands of requests/s), else from httpx in this process (which needs about 1 ms of CPU
per request and so caps the baseline on a 2-core machine). The server runs as many API
processes as the machine has cores when REDIS_URL is set (their shared store), else one."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ops.bench.measure import Backends, CpuShares, Steps, percentile
from ops.bench.results import Line, Target, WorkloadResult
from ops.bench.scratch import Served, api_server
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
    backends: dict[str, float] = field(default_factory=dict)

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
            "postgres_backends": self.backends,
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


WRK_SCRIPT = r"""
-- FiscaFlow bench: POST an income of 1.00 to the accounts in turn, or GET a path.
local bodies, turn = {}, 0
local method, path = os.getenv("BENCH_METHOD"), os.getenv("BENCH_PATH")
local headers = {["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
                 ["Content-Type"] = "application/json"}
init = function(args)
  for i, account in ipairs(args) do
    bodies[i] = '{"kind":"income","account_id":"' .. account .. '","amount":"1.00","date":"'
      .. os.getenv("BENCH_DATE") .. '","description":"bench"}'
  end
end
request = function()
  if method == "GET" then return wrk.format("GET", path, headers) end
  turn = turn % #bodies + 1
  return wrk.format("POST", path, headers, bodies[turn])
end
done = function(summary, latency, requests)
  local q = {}
  for _, p in ipairs({50, 95, 99}) do q["p" .. p .. "_ms"] = latency:percentile(p) / 1000 end
  io.write("BENCH-JSON " .. string.format(
    '{"requests": %d, "seconds": %f, "errors": %d, "p50_ms": %f, "p95_ms": %f, "p99_ms": %f, "max_ms": %f}',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
      + summary.errors.status,
    q.p50_ms, q.p95_ms, q.p99_ms, latency.max / 1000) .. "\n")
end
"""


@dataclass
class WrkRun(Run):
    """A run measured by wrk: it reports percentiles, not each latency."""

    figures: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.figures.get("requests", 0) / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "requests": int(self.figures.get("requests", 0)),
            "requests_per_second": self.rate,
            **{k: self.figures.get(k, 0.0) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")},
            "statuses": dict(self.statuses),
            "cpu_cores": self.cpu,
            "postgres_backends": self.backends,
        }


def wrk(
    url: str, token: str, method: str, path: str, accounts: list[str], clients: int, seconds: float
) -> dict[str, float]:
    """One wrk run; its figures (requests, seconds, errors, percentiles in ms)."""
    with tempfile.TemporaryDirectory(prefix="fiscaflow-bench-wrk-") as folder:
        script = Path(folder) / "bench.lua"
        script.write_text(WRK_SCRIPT)
        env = os.environ | {
            "BENCH_TOKEN": token, "BENCH_METHOD": method, "BENCH_PATH": path,
            "BENCH_DATE": dt.date.today().isoformat(),
        }  # fmt: skip
        command = [
            "wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
            "-s", str(script), url, "--", *accounts,
        ]  # fmt: skip
        done = subprocess.run(  # noqa: S603 - our own arguments
            command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False
        )
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH-JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return {k: float(v) for k, v in json.loads(line.removeprefix("BENCH-JSON ")).items()}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def drive_wrk(
    url: str, token: str, method: str, path: str, accounts: list[str], sizes: Sizes, served: Served
) -> WrkRun:
    """Warm up, then time ``sizes.seconds`` of ``sizes.clients`` connections from wrk."""
    wrk(url, token, method, path, accounts, sizes.clients, min(2.0, sizes.seconds / 2))
    run, cpu, backends = WrkRun(), CpuShares(served.pid, include_children=True), Backends(served.conninfo)
    cpu.start()
    backends.start()
    client_before = children_cpu()
    run.figures = wrk(url, token, method, path, accounts, sizes.clients, sizes.seconds)
    run.cpu = cpu.stop()
    run.backends = backends.stop()
    run.seconds = run.figures["seconds"]
    run.cpu["client_cores"] = round((children_cpu() - client_before) / run.seconds, 2)
    errors = int(run.figures["errors"])
    run.statuses["2xx"] = int(run.figures["requests"]) - errors
    if errors:
        run.statuses["error"] = errors
    return run


async def drive(url: str, token: str, send: Send, sizes: Sizes, served: Served) -> Run:
    """Warm up, then time ``sizes.seconds`` of ``sizes.clients`` concurrent clients."""
    limits = httpx.Limits(max_connections=sizes.clients, max_keepalive_connections=sizes.clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:
        await clients(client, send, sizes.clients, min(2.0, sizes.seconds / 2), None)
        run, cpu, backends = Run(), CpuShares(served.pid, include_children=True), Backends(served.conninfo)
        cpu.start()
        backends.start()
        began = time.perf_counter()
        await clients(client, send, sizes.clients, sizes.seconds, run)
        run.seconds = time.perf_counter() - began
        run.cpu = cpu.stop()
        run.backends = backends.stop()
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


def cpu_note(label: str, run: Run, generator: str) -> str:
    cpu = run.cpu
    return (
        f"{label}: the load generator ({generator}) used {cpu.get('client_cores', 0):.2f} cores, "
        f"the API processes {cpu.get('server_cores', 0):.2f}, PostgreSQL {cpu.get('postgres_cores', 0):.2f}, "
        f"the machine {cpu.get('machine_cores', 0):.2f} of {os.cpu_count()}."
    )


def backends_note(commands: Run) -> str:
    """What PostgreSQL did while the commands ran; the WAL flush time per command is the
    average number of backends flushing divided by the commands per second."""
    seen, rate = commands.backends, commands.rate
    flush_ms = seen.get("flushing_wal", 0.0) / rate * 1000 if rate else 0.0
    return (
        f"commands: PostgreSQL's backends on average: {seen.get('waiting_for_a_lock', 0):.2f} waiting "
        f"for a lock, {seen.get('flushing_wal', 0):.2f} flushing WAL (about {flush_ms:.2f} ms per "
        f"command), {seen.get('running', 0):.2f} running ({seen.get('samples', 0)} samples). Appends "
        "hold the events table's lock through their commit's flush; the appends an API process's "
        "threads ask for at the same moment share one commit (group commit)."
    )


def api_processes() -> int:
    """As many API processes as cores where they can share a store (REDIS_URL), else one."""
    return (os.cpu_count() or 1) if os.environ.get("REDIS_URL") else 1


def run(conninfo: str, sizes: Sizes, steps: Steps, env: dict[str, int]) -> WorkloadResult:
    result = WorkloadResult("http", f"Commands over HTTP, {sizes.clients} concurrent clients")
    processes = api_processes()
    use_wrk = shutil.which("wrk") is not None
    generator = "wrk" if use_wrk else "httpx in this Python process"
    with api_server(conninfo, processes) as served:
        token, _ = sign_up(served.url)
        with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            accounts = open_accounts(c, 64 if sizes.clients >= 32 else 8)
        with steps.step(f"http: POST /api/v1/transactions for {sizes.seconds:g}s"):
            if use_wrk:
                commands: Run = drive_wrk(
                    served.url, token, "POST", "/api/v1/transactions", accounts, sizes, served
                )
            else:
                commands = asyncio.run(drive(served.url, token, recorder(accounts), sizes, served))
        with steps.step(f"http: GET /health for {sizes.seconds:g}s"):
            if use_wrk:
                baseline: Run = drive_wrk(served.url, token, "GET", "/health", accounts, sizes, served)
            else:
                baseline = asyncio.run(drive(served.url, token, health, sizes, served))
    result.lines = lines(commands, baseline)
    summary = commands.summary()
    result.details = {
        "commands": summary, "health": baseline.summary(), "accounts": len(accounts),
        "api_processes": processes, "load_generator": generator,
    }  # fmt: skip
    failed = sum(n for status, n in commands.statuses.items() if not str(status).startswith("2"))
    result.notes += [
        f"{sizes.clients} keep-alive connections from {generator}, {sizes.seconds:g} s each after a "
        f"warm-up; {failed} of {summary['requests']} commands were not 2xx. The server runs {processes} "
        "API process(es) (`fiscaflow serve --processes`; more than one needs REDIS_URL) with "
        "FISCAFLOW_RUN_PROJECTORS=false, FISCAFLOW_RUN_WORKERS=false and no rate limit.",
        cpu_note("commands", commands, generator),
        backends_note(commands),
        cpu_note("health", baseline, generator)
        + f" The load generator shares the {os.cpu_count()} cores with the server and PostgreSQL.",
    ]
    return result
