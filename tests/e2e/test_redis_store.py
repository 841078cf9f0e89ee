"""With REDIS_URL set, the deny-list and login throttling live in the real Redis, shared
by every API process (here: survive a restart of the API)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server, empty_redis
from tests.e2e.users import authenticated, login, sign_up

pytestmark = pytest.mark.e2e
REDIS_URL = os.environ.get("FISCAFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
SECRET = "redis-test-secret-0123456789-abcdefghijklmnop"


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    with empty_redis(REDIS_URL) as client:
        yield client


def test_logout_and_throttling_are_shared_through_redis(redis_client: redis.Redis, tmp_path: Path) -> None:
    conninfo = create_database()
    env = {"DATABASE_URL": conninfo, "REDIS_URL": REDIS_URL, "FISCAFLOW_JWT_SECRET": SECRET}
    try:
        first = Server(env, tmp_path / "first.log")
        member = sign_up(first.url)
        member.client.close()
        kept = login(first.url, member.email).json()
        with authenticated(first.url, member.access_token) as client:
            assert client.post("/api/v1/users/logout", json={}).status_code == 200
            assert client.get("/api/v1/accounts").status_code == 401
        for _ in range(3):
            assert login(first.url, member.email, "wrong password!").status_code == 401
        assert first.stop() == 0

        keys = {k.decode() for k in redis_client.keys("*")}
        assert any("deny:" in k for k in keys), keys
        assert any(f"login:acct:{member.email}" in k for k in keys), keys

        second = Server(env, tmp_path / "second.log")  # another API process, same Redis
        try:
            with authenticated(second.url, member.access_token) as client:
                assert client.get("/api/v1/accounts").status_code == 401  # still denied
            with authenticated(second.url, kept["access_token"]) as client:
                assert client.get("/api/v1/accounts").status_code == 200  # another login is fine
        finally:
            assert second.stop() == 0
    finally:
        drop_database(conninfo)
