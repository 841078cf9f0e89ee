"""The access log line of a request answered by Litestar's outer exception handler (a 401
from the authentication middleware, which runs inside the access log) says its status."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from litestar.exceptions import NotAuthorizedException

from api.requests import access_log


async def refuse(scope: Any, receive: Any, send: Any) -> None:
    raise NotAuthorizedException("send Authorization: Bearer <token>")


async def crash(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("a bug")


async def answer(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize(("app", "status"), [(refuse, 401), (crash, 500), (answer, 204)])
def test_the_logged_status_is_the_answered_one(
    app: Any, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    scope = {"type": "http", "method": "GET", "path": "/api/v1/accounts", "headers": []}
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    with caplog.at_level(logging.INFO, logger="fiscaflow.access"):
        try:
            asyncio.run(access_log(app)(scope, receive, send))
        except (NotAuthorizedException, RuntimeError):
            assert status != 204
    [line] = [r.getMessage() for r in caplog.records if r.name == "fiscaflow.access"]
    assert line.split()[:3] == ["GET", "/api/v1/accounts", str(status)]
