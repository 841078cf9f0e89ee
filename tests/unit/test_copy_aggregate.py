"""copy_aggregate: what deepcopy gives, with the immutable values shared. A copy out of the
cache must share nothing that a command could change in place."""

from __future__ import annotations

from copy import deepcopy
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import uuid4

import pytest

from commands.application import IMMUTABLE, copy_aggregate
from ledger.account import Account, AccountKind
from ledger.categories import CategoryBook
from ledger.household import Household
from ledger.money import Money
from ledger.user import User


def account() -> Account:
    account = Account.open(uuid4(), "Checking", AccountKind.ASSET, "EUR", Decimal("-100"))
    account.share("view", {uuid4(): "annotate"}, account.household_id)
    account.post(uuid4(), Money.of(Decimal("12.50"), "EUR"))
    return account


def household() -> Household:
    owner = uuid4()
    home = Household.create("Home", owner)
    home.invite(uuid4(), "guest@example.org", "family_member", owner)
    return home


def user() -> User:
    person = User.register("someone@example.org", "Someone", "$argon2id$v=19$m=19456,t=2,p=1$x$y")
    person.join_household(uuid4())
    return person


def mutable_objects(value: Any, seen: dict[int, Any]) -> dict[int, Any]:
    """Every object reachable from ``value`` that is not an immutable value, by id."""
    if type(value) in IMMUTABLE or isinstance(value, (Enum, type)) or id(value) in seen:
        return seen
    seen[id(value)] = value
    if isinstance(value, dict):
        for key, item in value.items():
            mutable_objects(key, seen)
            mutable_objects(item, seen)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            mutable_objects(item, seen)
    elif hasattr(value, "__dict__"):
        mutable_objects(vars(value), seen)
    return seen


@pytest.mark.parametrize("make", [account, household, user, lambda: CategoryBook.open(uuid4())])
def test_a_copy_equals_a_deepcopy_and_shares_no_container(make: Any) -> None:
    original = make()
    copied, deep = copy_aggregate(original), deepcopy(original)
    assert type(copied) is type(original)
    assert vars(copied) == vars(deep) == vars(original)
    # Lists and dicts (the pending events, access grants, members, categories) are new
    # objects; only immutable values and frozen value objects deepcopy itself would copy.
    containers = {
        i: o for i, o in mutable_objects(vars(original), {}).items() if isinstance(o, (list, dict, set))
    }
    assert containers, "the aggregate has containers to check"
    copied_containers = mutable_objects(vars(copied), {})
    assert not set(containers) & set(copied_containers), "a container is shared with the original"
