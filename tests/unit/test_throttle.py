"""Login back-off per account and per client address (on Litestar's memory store)."""

from __future__ import annotations

import asyncio

import pytest
from litestar.stores.memory import MemoryStore

from api import throttle


async def fail(store: MemoryStore, email: str, address: str, times: int) -> None:
    for _ in range(times):
        await throttle.failed(store, email, address)


@pytest.mark.reliability
def test_an_account_backs_off_from_its_tenth_failure_whatever_the_address() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        await fail(store, "ana@example.org", "10.0.0.1", throttle.FREE_FAILURES - 1)
        await throttle.check(store, "ana@example.org", "10.0.0.2")  # 9 failures: still free
        await throttle.failed(store, "ana@example.org", "10.0.0.3")
        with pytest.raises(throttle.LoginThrottledError) as locked:
            await throttle.check(store, "Ana@Example.org ", "10.0.0.4")  # any spelling, any address
        assert 1 <= locked.value.retry_after <= 2
        await throttle.check(store, "bob@example.org", "10.0.0.4")  # others are not affected
        await throttle.succeeded(store, "ana@example.org")
        await throttle.check(store, "ana@example.org", "10.0.0.4")  # a success clears it

    asyncio.run(scenario())


@pytest.mark.reliability
def test_an_address_that_fails_across_many_accounts_backs_off() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        for n in range(throttle.ADDRESS_FREE_FAILURES):
            await throttle.failed(store, f"user{n}@example.org", "203.0.113.7")
        with pytest.raises(throttle.LoginThrottledError):
            await throttle.check(store, "fresh@example.org", "203.0.113.7")
        await throttle.check(store, "fresh@example.org", "198.51.100.1")  # another address is free

    asyncio.run(scenario())
