"""Login throttling: back-off per account and per client address, on the configured store.

From the FREE_FAILURES-th failed login within an hour on, each failure locks the account
(or address) for 2^(n - FREE_FAILURES) seconds, up to 15 minutes; so at most a few dozen
failures per hour are ever evaluated. A successful login clears the account's count. An
unknown email is throttled exactly like a known one, so throttling reveals nothing.
"""

from __future__ import annotations

import logging
import time

from litestar.stores.base import Store

FREE_FAILURES = 10
ADDRESS_FREE_FAILURES = 100
WINDOW = 3600
MAX_LOCK = 900
log = logging.getLogger("fiscaflow.security")


class LoginThrottledError(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry after {retry_after} s")
        self.retry_after = retry_after


def keys(email: str, address: str) -> list[tuple[str, int]]:
    return [
        (f"login:acct:{email.strip().lower()}", FREE_FAILURES),
        (f"login:addr:{address}", ADDRESS_FREE_FAILURES),
    ]


async def check(store: Store, email: str, address: str) -> None:
    """Refuse (429) while the account or the address is locked."""
    now = time.time()
    for key, _ in keys(email, address):
        locked_until = await store.get(f"{key}:lock")
        if locked_until is not None and float(locked_until) > now:
            raise LoginThrottledError(max(1, int(float(locked_until) - now) + 1))


async def failed(store: Store, email: str, address: str) -> None:
    for key, free in keys(email, address):
        count = int(await store.get(key) or 0) + 1
        await store.set(key, str(count), expires_in=WINDOW)
        if count >= free:
            lock = min(MAX_LOCK, 2 ** (count - free))
            await store.set(f"{key}:lock", str(time.time() + lock), expires_in=lock)
            log.warning("login back-off: %s failures, locked for %s s", count, lock)


async def succeeded(store: Store, email: str) -> None:
    key = keys(email, "")[0][0]
    await store.delete(key)
    await store.delete(f"{key}:lock")
