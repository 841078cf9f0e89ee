"""Group commit's coordination (commands/group_commit.py), with a store function that
records the groups it is given: who leads, who is grouped with whom, who gets what."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from eventsourcing.persistence import OperationalError, StoredEvent

from commands.group_commit import GroupCommit, Request, lock_timeout
from commands.loading import StripedLocks
from commands.write_path import StoreUnavailableError


def request(events: int = 1) -> Request:
    originator = uuid.uuid4()
    return Request([StoredEvent(originator, v, "t", b"{}") for v in range(1, events + 1)], {}, None, "")


class Store:
    """Stores a group by giving each request the next positions; the first group waits for
    ``release`` so that others can queue behind it. ``refuse``: requests answered with an
    error of their own; ``fail``: the whole group raises."""

    def __init__(self) -> None:
        self.groups: list[list[Request]] = []
        self.threads: list[str] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.position = 0
        self.refuse: set[int] = set()
        self.fail: BaseException | None = None

    def __call__(self, group: list[Request]) -> None:
        self.groups.append(group)
        self.threads.append(threading.current_thread().name)
        if len(self.groups) == 1:
            self.entered.set()
            assert self.release.wait(10)
        if self.fail is not None and len(self.groups) > 1:
            raise self.fail
        for r in group:
            if id(r) in self.refuse:
                r.error = ValueError("refused")
            else:
                r.positions = list(range(self.position + 1, self.position + len(r.events) + 1))
                self.position += len(r.events)


def submit_all(grouping: GroupCommit, requests: list[Request]) -> dict[int, object]:
    """The first request leads (and blocks in the store); the others queue behind it, in
    order; then the store is released. Outcome per request: positions or the error."""
    outcomes: dict[int, object] = {}

    def submit(r: Request) -> None:
        try:
            outcomes[id(r)] = grouping.submit(r)
        except Exception as error:
            outcomes[id(r)] = error

    first = threading.Thread(target=submit, args=(requests[0],), name="r0")
    first.start()
    store = grouping.store
    assert isinstance(store, Store)
    assert store.entered.wait(10)
    others = []
    for n, r in enumerate(requests[1:], 1):
        thread = threading.Thread(target=submit, args=(r,), name=f"r{n}")
        thread.start()
        others.append(thread)
        while len(grouping.waiting) < n:  # queued in this order
            time.sleep(0.001)
    store.release.set()
    for thread in [first, *others]:
        thread.join(10)
        assert not thread.is_alive()
    return outcomes


def test_alone_a_request_is_stored_at_once_by_its_own_thread() -> None:
    store = Store()
    store.release.set()
    grouping = GroupCommit(store)
    r = request(3)
    assert grouping.submit(r) == [1, 2, 3]
    assert store.groups == [[r]]
    assert store.threads == [threading.current_thread().name]
    assert not grouping.leading and grouping.waiting == []


def test_requests_arriving_during_a_commit_are_stored_together_by_one_of_them() -> None:
    store = Store()
    grouping = GroupCommit(store)
    requests = [request() for _ in range(5)]
    outcomes = submit_all(grouping, requests)
    assert store.groups == [requests[:1], requests[1:]]  # in arrival order
    assert store.threads == ["r0", "r1"]  # the first to arrive after the commit leads next
    assert [outcomes[id(r)] for r in requests] == [[1], [2], [3], [4], [5]]
    assert not grouping.leading and grouping.waiting == []
    assert (grouping.groups, grouping.requests) == (2, 5)


def test_each_request_of_a_group_gets_its_own_outcome() -> None:
    store = Store()
    grouping = GroupCommit(store)
    requests = [request() for _ in range(4)]
    store.refuse = {id(requests[2])}
    outcomes = submit_all(grouping, requests)
    assert outcomes[id(requests[1])] == [2]
    assert isinstance(outcomes[id(requests[2])], ValueError)
    assert outcomes[id(requests[3])] == [3]


def test_a_group_that_fails_fails_each_of_its_requests_and_no_other() -> None:
    store = Store()
    grouping = GroupCommit(store)
    store.fail = OperationalError("connection lost")
    requests = [request() for _ in range(3)]
    outcomes = submit_all(grouping, requests)
    assert outcomes[id(requests[0])] == [1]  # the first group was stored
    errors = [outcomes[id(r)] for r in requests[1:]]
    assert all(isinstance(e, OperationalError) and str(e) == "connection lost" for e in errors)
    assert errors[0] is not errors[1]  # each thread raises an exception of its own
    assert not grouping.leading  # and the next request leads again
    store.fail = None
    assert grouping.submit(request()) == [2]


def test_groups_are_bounded_by_requests_and_by_events() -> None:
    store = Store()
    grouping = GroupCommit(store, max_requests=3, max_events=10)
    requests = [request(), request(), request(), request(), request(), request(8), request(4)]
    submit_all(grouping, requests)
    sizes = [[len(r.events) for r in group] for group in store.groups]
    assert sizes == [[1], [1, 1, 1], [1, 8], [4]]


def test_a_request_bigger_than_the_event_bound_is_stored_alone() -> None:
    store = Store()
    grouping = GroupCommit(store, max_events=10)
    requests = [request(), request(30), request()]
    submit_all(grouping, requests)
    assert [[len(r.events) for r in group] for group in store.groups] == [[1], [30], [1]]


def test_a_keyboard_interrupt_in_the_store_still_answers_the_group() -> None:
    def store(group: list[Request]) -> None:
        raise KeyboardInterrupt

    grouping = GroupCommit(store)
    r = request()
    with pytest.raises(KeyboardInterrupt):
        grouping.submit(r)
    assert isinstance(r.error, KeyboardInterrupt)
    assert not grouping.leading


def test_a_request_waits_for_the_lock_only_what_is_left_of_its_timeout() -> None:
    fresh, old = request(), request()
    old.arrived -= 0.75
    assert 990 <= int(lock_timeout([fresh], 1.0).removesuffix("ms")) <= 1000
    assert 240 <= int(lock_timeout([fresh, old], 1.0).removesuffix("ms")) <= 250  # the oldest counts
    old.arrived -= 5
    assert lock_timeout([old], 1.0) == "1ms"  # past its time: a free lock is still taken
    assert lock_timeout([old], 0) == "0"  # no timeout at all


def test_a_command_queued_on_a_busy_account_gives_up_within_its_timeout_and_its_wait_counts() -> None:
    locks, account = StripedLocks(), uuid.uuid4()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locks.holding({account}):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    began = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="busy"), locks.holding({account}, timeout=0.2):
        pass
    assert 0.2 <= time.monotonic() - began < 1.0
    release.set()
    holder.join()
    with locks.holding({account}, timeout=1.0):
        time.sleep(0.3)  # what the command spent before its append counts against the lock timeout
        assert 650 <= int(lock_timeout([request()], 1.0).removesuffix("ms")) <= 700
    assert 990 <= int(lock_timeout([request()], 1.0).removesuffix("ms")) <= 1000  # outside: from now
