"""Sharing an account inside a household: levels, owners and who may change them."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ledger.account import AccessLevel, Account, AccountKind
from ledger.errors import ForbiddenError, IllegalTransitionError, InvalidInputError

OWNER, PARTNER, CHILD = uuid4(), uuid4(), uuid4()


def owned(default: str = "full") -> Account:
    account = Account.open(uuid4(), "Card", AccountKind.ASSET, "EUR")
    account.assign_owner(OWNER)
    account.share(default, {}, OWNER)
    return account


def test_the_owner_always_has_full_access_and_others_get_the_default() -> None:
    account = owned("none")
    assert account.access_for(OWNER) is AccessLevel.FULL
    assert account.access_for(PARTNER) is AccessLevel.NONE
    assert account.access_for(None) is AccessLevel.FULL  # the system itself


def test_per_member_levels_override_the_default() -> None:
    account = owned("view")
    account.share("view", {PARTNER: "annotate", CHILD: "none"}, OWNER)
    assert (account.access_for(PARTNER), account.access_for(CHILD)) == (
        AccessLevel.ANNOTATE,
        AccessLevel.NONE,
    )
    account.check_access(PARTNER, AccessLevel.VIEW)
    account.check_access(PARTNER, AccessLevel.ANNOTATE)
    with pytest.raises(ForbiddenError):
        account.check_access(PARTNER, AccessLevel.FULL)


def test_only_the_owner_changes_sharing_and_nothing_changes_when_refused() -> None:
    account = owned("full")
    version = account.version
    with pytest.raises(ForbiddenError):
        account.share("none", {}, PARTNER)
    with pytest.raises(InvalidInputError):
        account.share("everything", {}, OWNER)
    assert (account.version, account.default_access) == (version, AccessLevel.FULL)


def test_an_account_without_owner_is_shared_by_anyone_with_full_access_and_owned_once() -> None:
    account = Account.open(uuid4(), "Legacy", AccountKind.ASSET, "EUR")
    assert account.access_for(PARTNER) is AccessLevel.FULL
    account.share("view", {}, PARTNER)
    with pytest.raises(ForbiddenError):
        account.share("full", {}, CHILD)  # CHILD has only view now
    account.assign_owner(OWNER)
    with pytest.raises(IllegalTransitionError):
        account.assign_owner(PARTNER)
