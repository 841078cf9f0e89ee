"""Household endpoints: create, list, invite, join, change member roles, remove members."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, post, put
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from api.auth import Principal, sessions_ended
from api.consistency import TokenHeader, TokenQuery, read_after
from api.responses import Accepted, accepted, command, query
from api.services import Services
from api.tenancy import caller, services
from commands.messages import ChangeMemberRole, CreateHousehold, Invite, JoinHousehold
from queries import directory as q
from queries.db import DIRECTORY_SCHEMA
from queries.views import HouseholdView


class InvitationView(msgspec.Struct, kw_only=True):
    """Give the token to the invitee; they accept with POST /api/v1/households/join."""

    invitation_id: UUID
    token: str
    consistency_token: int


class HouseholdController(Controller):
    path = "/api/v1/households"
    tags = ["households"]
    dependencies = {
        "services": Provide(services, sync_to_thread=False),
        "me": Provide(caller, sync_to_thread=False),
    }

    @command(post, "/", "createHousehold", 201)
    def create(
        self,
        data: JSONBody[CreateHousehold],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Response[Accepted]:
        """Create another household that you own (switch to it with /users/switch-household)."""
        result = services.households.create(me.user_id, data)
        return accepted(result, 201, f"{self.path}/{result.id}")

    @query("/", "listHouseholds")
    def list_(
        self,
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> list[HouseholdView]:
        """Your households, your role in each, and their members."""
        read_after(services, (DIRECTORY_SCHEMA,), token, after)
        return q.households_of(services.reads, me.user_id)

    @query("/{household_id:uuid}", "getHousehold")
    def get_one(
        self,
        household_id: FromPath[UUID],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> HouseholdView:
        """One of your households with its members."""
        read_after(services, (DIRECTORY_SCHEMA,), token, after)
        return q.household(services.reads, me.user_id, household_id)

    @command(post, "/{household_id:uuid}/invitations", "inviteMember", 201)
    def invite(
        self,
        household_id: FromPath[UUID],
        data: JSONBody[Invite],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> InvitationView:
        """Invite an email address with a role (family_owner only)."""
        invitation = services.households.invite(me.user_id, household_id, data)
        return InvitationView(
            invitation_id=invitation.invitation_id,
            token=invitation.token,
            consistency_token=invitation.position,
        )

    @command(post, "/join", "joinHousehold")
    def join(
        self,
        data: JSONBody[JoinHousehold],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Response[Accepted]:
        """Accept an invitation sent to your (verified) email address."""
        return accepted(services.households.join(me.user_id, data.token))

    @command(put, "/{household_id:uuid}/members/{user_id:uuid}", "changeMemberRole", blocking=False)
    async def change_member_role(
        self,
        household_id: FromPath[UUID],
        user_id: FromPath[UUID],
        data: JSONBody[ChangeMemberRole],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Accepted:
        """Change a member's role (family_owner only); a household keeps one owner at least.
        The member's sessions end, since their tokens carry the old role."""
        change = services.households.change_member_role
        result = await sync_to_thread(change, me.user_id, household_id, user_id, data)
        return await sessions_ended(request, user_id, result)

    @command(delete, "/{household_id:uuid}/members/{user_id:uuid}", "removeMember", blocking=False)
    async def remove_member(
        self,
        household_id: FromPath[UUID],
        user_id: FromPath[UUID],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Accepted:
        """Remove a member (family_owner), or leave yourself. Their sessions end."""
        result = await sync_to_thread(services.households.remove_member, me.user_id, household_id, user_id)
        return await sessions_ended(request, user_id, result)
