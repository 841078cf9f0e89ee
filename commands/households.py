"""Handlers of household commands: create, invite, join, change roles, remove members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from commands.application import Ledger
from commands.loading import load_user, with_retries
from commands.messages import ChangeMemberRole, CreateHousehold, Invite
from commands.tokens import TokenService
from commands.write_path import Appended, append
from ledger.errors import ForbiddenError, NotFoundError
from ledger.household import Household
from ledger.user import normalise_email

INVITATION_TTL = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Invitation:
    invitation_id: UUID
    token: str
    position: int


class HouseholdCommands:
    def __init__(self, app: Ledger, tokens: TokenService) -> None:
        self.app = app
        self.tokens = tokens

    def load(self, household_id: UUID, actor: UUID) -> Household:
        """The household if the actor is a member; a stranger gets 404."""
        try:
            household = self.app.repository.get(household_id)
        except AggregateNotFoundError:
            household = None
        if not isinstance(household, Household) or household.role_of(actor) is None:
            raise NotFoundError(f"no household {household_id}")
        return household

    def create(self, actor: UUID, command: CreateHousehold) -> Appended:
        user = load_user(self.app, actor)
        household = Household.create(command.name, actor)
        user.join_household(household.id)
        return append(self.app, household, user)

    def invite(self, actor: UUID, household_id: UUID, command: Invite) -> Invitation:
        """An owner invites an address; the invitee accepts with the returned token."""
        email = normalise_email(command.email)
        invitation_id = uuid4()

        def attempt() -> Appended:
            household = self.load(household_id, actor)
            household.invite(invitation_id, email, command.role, actor)
            return append(self.app, household)

        result = with_retries(attempt)
        token, _ = self.tokens.sign(
            "invite", str(invitation_id), INVITATION_TTL, hid=str(household_id), email=email
        )
        return Invitation(invitation_id, token, result.position)

    def join(self, actor: UUID, token: str) -> Appended:
        claims = self.tokens.verify("invite", token)
        household_id = UUID(claims["hid"])

        def attempt() -> Appended:
            user = load_user(self.app, actor)
            household = self.app.repository.get(household_id)
            if not isinstance(household, Household):
                raise NotFoundError(f"no household {household_id}")
            if not user.email_verified:
                raise ForbiddenError("verify your email address before joining a household")
            household.join(UUID(claims["sub"]), user.id, user.email)
            user.join_household(household.id)
            return append(self.app, household, user)

        return with_retries(attempt)

    def change_member_role(
        self, actor: UUID, household_id: UUID, user_id: UUID, command: ChangeMemberRole
    ) -> Appended:
        def attempt() -> Appended:
            household = self.load(household_id, actor)
            household.change_member_role(user_id, command.role, actor)
            return append(self.app, household)

        result = with_retries(attempt)
        self.tokens.revoke_user(user_id, "household role changed")  # tokens carry the old role
        return result

    def remove_member(self, actor: UUID, household_id: UUID, user_id: UUID) -> Appended:
        def attempt() -> Appended:
            household = self.load(household_id, actor)
            household.remove_member(user_id, actor)
            user = load_user(self.app, user_id, allow_inactive=True)
            user.leave_household(household_id)
            return append(self.app, household, user)

        result = with_retries(attempt)
        self.tokens.revoke_user(user_id, "removed from a household")
        return result
