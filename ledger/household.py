"""The Household aggregate: the tenant. Its members and their roles decide who may do what.

Roles inside a household: ``family_owner`` manages members and everything else;
``family_member`` records and edits; ``read_only`` only reads.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.account import check_name
from ledger.errors import (
    ConflictError,
    ForbiddenError,
    IllegalTransitionError,
    InvalidInputError,
    NotFoundError,
)


class HouseholdRole(StrEnum):
    OWNER = "family_owner"
    MEMBER = "family_member"
    READ_ONLY = "read_only"


def household_role(role: str) -> HouseholdRole:
    try:
        return HouseholdRole(role)
    except ValueError:
        raise InvalidInputError(f"unknown household role {role!r}") from None


class Household(Aggregate):
    """A household with its members (user id -> role) and pending invitations."""

    @classmethod
    def create(cls, name: str, owner_id: UUID) -> Household:
        return cls(check_name(name), owner_id)

    @event("Created")
    def __init__(self, name: str, owner_id: UUID) -> None:
        self.name = name
        self.members: dict[UUID, HouseholdRole] = {owner_id: HouseholdRole.OWNER}
        self.invitations: dict[UUID, tuple[str, HouseholdRole]] = {}

    def role_of(self, user_id: UUID) -> HouseholdRole | None:
        return self.members.get(user_id)

    def check_owner(self, actor: UUID) -> None:
        """Only an owner manages the household; a non-member learns nothing (404)."""
        role = self.role_of(actor)
        if role is None:
            raise NotFoundError(f"no household {self.id}")
        if role is not HouseholdRole.OWNER:
            raise ForbiddenError("only a family_owner may do this")

    def rename(self, name: str, actor: UUID) -> None:
        self.check_owner(actor)
        self._renamed(check_name(name))

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.name = name

    def invite(self, invitation_id: UUID, email: str, role: str, actor: UUID) -> None:
        self.check_owner(actor)
        self._member_invited(invitation_id, email, household_role(role), actor)

    @event("MemberInvited")
    def _member_invited(self, invitation_id: UUID, email: str, role: HouseholdRole, by: UUID) -> None:
        self.invitations[invitation_id] = (email, HouseholdRole(role))

    def join(self, invitation_id: UUID, user_id: UUID, email: str) -> None:
        """Accept an invitation sent to this email address."""
        invitation = self.invitations.get(invitation_id)
        if invitation is None or invitation[0] != email:
            raise IllegalTransitionError("this invitation is spent, withdrawn or for another address")
        if user_id in self.members:
            raise ConflictError("you are already a member of this household")
        self._member_joined(invitation_id, user_id, invitation[1])

    @event("MemberJoined")
    def _member_joined(self, invitation_id: UUID, user_id: UUID, role: HouseholdRole) -> None:
        del self.invitations[invitation_id]
        self.members[user_id] = HouseholdRole(role)

    def change_member_role(self, user_id: UUID, role: str, actor: UUID) -> None:
        self.check_owner(actor)
        new_role = household_role(role)
        self.check_member(user_id)
        if self.members[user_id] is HouseholdRole.OWNER and new_role is not HouseholdRole.OWNER:
            self.check_not_last_owner(user_id)
        self._member_role_changed(user_id, new_role, actor)

    @event("MemberRoleChanged")
    def _member_role_changed(self, user_id: UUID, role: HouseholdRole, by: UUID) -> None:
        self.members[user_id] = HouseholdRole(role)

    def remove_member(self, user_id: UUID, actor: UUID) -> None:
        """An owner removes anyone; a member may leave on their own."""
        if actor != user_id:
            self.check_owner(actor)
        self.check_member(user_id)
        self.check_not_last_owner(user_id)
        self._member_removed(user_id, actor)

    @event("MemberRemoved")
    def _member_removed(self, user_id: UUID, by: UUID) -> None:
        del self.members[user_id]

    def check_member(self, user_id: UUID) -> None:
        if user_id not in self.members:
            raise NotFoundError(f"no member {user_id} in this household")

    def check_not_last_owner(self, user_id: UUID) -> None:
        owners = [m for m, r in self.members.items() if r is HouseholdRole.OWNER]
        if owners == [user_id]:
            raise ConflictError("a household keeps at least one family_owner")
