"""Answers of hot query endpoints cached in the ``cache`` store (Redis with REDIS_URL,
memory otherwise), keyed by tenant, caller, endpoint, parameters and the tracked positions
of the read models the endpoint reads.

The consistency token is honoured first (the wait of every query), then the positions are
read: an answer cached under positions P was computed from read models at P or later, and
a key with P at or past the caller's token can only hold an answer at least that new. Any
write that a read model applies moves its position and so changes the key: nothing is
invalidated by hand, and stale keys simply expire.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.concurrency import sync_to_thread

from api.consistency import read_after
from api.tenancy import Caller
from queries.consistency import positions

T = TypeVar("T")
TTL_SECONDS = 120


def cache_key(caller: Caller, endpoint: str, params: dict[str, Any], at: dict[str, int]) -> str:
    scope = [str(caller.household), str(caller.user_id), endpoint, params, at]
    return "query:" + hashlib.sha256(json.dumps(scope, sort_keys=True, default=str).encode()).hexdigest()


async def cached(
    request: Request[Any, Any, Any],
    caller: Caller,
    schemas: tuple[str, ...],
    endpoint: str,
    params: dict[str, Any],
    compute: Callable[[], T],
    kind: type[T],
    tokens: tuple[str | None, str | None],
) -> T:
    """The endpoint's answer: from the cache when the read models have not moved."""
    services = caller.services
    await sync_to_thread(read_after, services, schemas, *tokens)
    at = await sync_to_thread(positions, services.reads, schemas)
    key = cache_key(caller, endpoint, params, at)
    store = request.app.stores.get("cache")
    hit = await store.get(key)
    if hit is not None:
        return msgspec.json.decode(hit, type=kind)
    answer = await sync_to_thread(compute)
    await store.set(key, msgspec.json.encode(answer), expires_in=TTL_SECONDS)
    return answer
