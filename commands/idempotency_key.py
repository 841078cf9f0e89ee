"""The idempotency key of the command running in this thread (set by the API, read by the
write path): a tiny module so that both can import it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class DuplicateRequestError(Exception):
    """The key was taken by a concurrent attempt of the same request while we ran."""


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    scope: str  # the caller (user and household): keys never collide across tenants
    key: str
    fingerprint: bytes  # method, path and body of the request

    @classmethod
    def of(cls, scope: str, key: str, method: str, path: str, body: bytes) -> IdempotencyKey:
        digest = hashlib.sha256(f"{method} {path}\n".encode() + body).digest()
        return cls(scope, key, digest)


# The key of the command being run in this thread; write_path hands it to the recorder.
CURRENT: ContextVar[IdempotencyKey | None] = ContextVar("idempotency_key", default=None)


@contextmanager
def recording(key: IdempotencyKey) -> Iterator[None]:
    token = CURRENT.set(key)
    try:
        yield
    finally:
        CURRENT.reset(token)
