"""CPU per request of the Litestar app in this process, without sockets or uvicorn: an
ASGI caller sends `POST /api/v1/transactions` (an income of 1.00 to 64 accounts in turn)
from N concurrent requests on one event loop, then `GET /health` as the baseline (run from
the repository root):

    python -m ops.load.asgi_cpu [REQUESTS] [CONCURRENT]

The app is built as `fiscaflow serve` builds it (its heap settled the same way), on a fresh
database of the tests' PostgreSQL (FISCAFLOW_TEST_DATABASE_URL), with Redis when REDIS_URL
is set, no rate limit and no projectors. Compare it with ``ops.load.command_cpu`` (the
command handler alone) to see what the API adds to a command."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from typing import Any

from litestar import Litestar

from api.app import create_app
from ops.logs import configure_logging
from ops.serving import settle_heap
from ops.settings import Settings
from tests.conftest import create_database, drop_database

ACCOUNTS = 64
USER = {"email": "cpu@example.org", "password": "a long and unusual passphrase", "display_name": "CPU"}


async def call(app: Litestar, method: str, path: str, body: Any = None, token: str = "") -> tuple[int, bytes]:
    """One request through the app's ASGI interface: its status and body."""
    data = b"" if body is None else json.dumps(body).encode()
    headers = [(b"host", b"asgi-cpu"), (b"content-type", b"application/json")]
    headers += [(b"content-length", str(len(data)).encode())]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    received = False
    status, out = 0, bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # the client never disconnects
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": data, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            out.extend(message.get("body", b""))

    await app(scope, receive, send)  # type: ignore[arg-type]
    return status, bytes(out)


async def measure(app: Litestar, requests: int, concurrent: int) -> None:
    async with app.lifespan():
        status, body = await call(app, "POST", "/api/v1/users/register", USER)
        status, body = await call(
            app, "POST", "/api/v1/users/login", {k: USER[k] for k in ("email", "password")}
        )
        if status != 200:
            raise RuntimeError(f"login answered {status}: {body!r}")
        token = json.loads(body)["access_token"]
        accounts = []
        for n in range(ACCOUNTS):
            _, body = await call(app, "POST", "/api/v1/accounts", {"name": f"A{n}", "currency": "EUR"}, token)
            accounts.append(json.loads(body)["id"])
        settle_heap(app)

        async def post(n: int) -> int:
            income = {"kind": "income", "account_id": accounts[n % ACCOUNTS], "amount": "1.00",
                      "date": "2026-11-01", "description": "bench"}  # fmt: skip
            return (await call(app, "POST", "/api/v1/transactions", income, token))[0]

        async def health(_: int) -> int:
            return (await call(app, "GET", "/health"))[0]

        async def run(send: Any, count: int) -> tuple[float, float]:
            async def client(first: int) -> None:
                for n in range(first, count, concurrent):
                    status = await send(n)
                    if status >= 300:
                        raise RuntimeError(f"answered {status}")

            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(client(k) for k in range(concurrent)))
            return (time.process_time() - cpu) / count * 1e6, count / (time.perf_counter() - wall)

        await run(post, ACCOUNTS * 4)  # warm-up: every account cached
        for label, send, count in (
            ("POST /api/v1/transactions", post, requests),
            ("GET /health", health, requests),
        ):
            cpu, rate = await run(send, count)
            print(f"{label}: {cpu:,.0f} us of CPU per request, {rate:,.0f} requests/s")


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    concurrent = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    database = create_database()
    try:
        env = os.environ | {
            "DATABASE_URL": database, "FISCAFLOW_RATE_LIMIT": "0",
            "FISCAFLOW_RUN_PROJECTORS": "false", "FISCAFLOW_RUN_WORKERS": "false",
        }  # fmt: skip
        settings = Settings.from_env(env).with_secret(secrets.token_urlsafe(48))
        with open(os.devnull, "w") as devnull:  # the access log's lines are written, to nowhere
            configure_logging(settings.mode, settings.log_level, devnull)
            asyncio.run(measure(create_app(settings), requests, concurrent))
    finally:
        drop_database(database)


if __name__ == "__main__":
    main()
