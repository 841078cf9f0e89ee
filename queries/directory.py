"""Queries over the directory read model: profiles, households and their members."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.errors import NotFoundError
from queries.db import DIRECTORY_SCHEMA, ReadStore
from queries.views import HouseholdView, MemberView, ProfileView

S = DIRECTORY_SCHEMA


def _profile(row: dict[str, Any]) -> ProfileView:
    return ProfileView(
        id=row["user_id"],
        email=row["email"],
        display_name=row["display_name"],
        role=row["role"],
        status=row["status"],
        email_verified=row["email_verified"],
        registered_at=row["registered_at"],
        last_login_at=row["last_login_at"],
        version=row["version"],
    )


def profile(store: ReadStore, user_id: UUID) -> ProfileView:
    with store.cursor() as curs:
        curs.execute(f"SELECT * FROM {S}.users WHERE user_id = %s AND status <> 'deleted'", (user_id,))  # noqa: S608
        row = curs.fetchone()
    if row is None:
        raise NotFoundError(f"no user {user_id}")
    return _profile(row)


def list_users(store: ReadStore, limit: int, offset: int) -> list[ProfileView]:
    """Every user, for admins."""
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {S}.users ORDER BY registered_at, user_id LIMIT %s OFFSET %s",  # noqa: S608
            (limit, offset),
        )
        return [_profile(row) for row in curs.fetchall()]


def households_of(store: ReadStore, user_id: UUID) -> list[HouseholdView]:
    """The households the user belongs to, each with its members."""
    with store.cursor() as curs:
        curs.execute(
            f"SELECT h.household_id, h.name, m.role FROM {S}.members m"  # noqa: S608
            f" JOIN {S}.households h USING (household_id) WHERE m.user_id = %s ORDER BY m.joined_at",
            (user_id,),
        )
        rows = curs.fetchall()
        return [
            HouseholdView(
                id=r["household_id"],
                name=r["name"],
                role=r["role"],
                members=_members(curs, r["household_id"]),
            )
            for r in rows
        ]


def household(store: ReadStore, user_id: UUID, household_id: UUID) -> HouseholdView:
    for found in households_of(store, user_id):
        if found.id == household_id:
            return found
    raise NotFoundError(f"no household {household_id}")


def _members(curs: Any, household_id: UUID) -> list[MemberView]:
    curs.execute(
        f"SELECT m.user_id, u.display_name, m.role, m.joined_at FROM {S}.members m"  # noqa: S608
        f" JOIN {S}.users u USING (user_id) WHERE m.household_id = %s ORDER BY m.joined_at",
        (household_id,),
    )
    return [MemberView(**row) for row in curs.fetchall()]
