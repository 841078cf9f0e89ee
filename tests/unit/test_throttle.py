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


class Clock:
    """The throttle's clock, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now


@pytest.mark.reliability
def test_an_attacker_retrying_the_moment_it_may_gets_at_most_100_failures_evaluated_per_hour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An attacker with a new address for every guess (so only the account's back-off
    applies) sends the next guess as soon as the lock allows, for an hour; every guess is
    wrong. RELIABILITY.md: at most 100 evaluated failures per hour per account."""
    clock = Clock()
    monkeypatch.setattr(throttle, "time", clock)

    async def scenario() -> tuple[int, int]:
        store = MemoryStore()
        evaluated, refused, end = 0, 0, clock.now + 3600
        while clock.now < end:
            address = f"10.{evaluated // 250}.{evaluated % 250}.{refused % 250}"
            try:
                await throttle.check(store, "ana@example.org", address)
            except throttle.LoginThrottledError as locked:
                refused += 1
                clock.now += locked.retry_after  # back exactly when told
                continue
            evaluated += 1  # the password was checked (and was wrong)
            await throttle.failed(store, "ana@example.org", address)
            clock.now += 0.05  # the next guess right away
        return evaluated, refused

    evaluated, refused = asyncio.run(scenario())
    assert throttle.FREE_FAILURES <= evaluated <= 100
    assert refused > 0
    print(f"evaluated {evaluated} failures in an hour, refused {refused} attempts")
