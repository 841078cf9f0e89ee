"""Projects user and household events into the directory."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from psycopg import Cursor

from ledger.household import Household
from ledger.personal import ERASED
from ledger.user import User
from projections.base import Projection


class DirectoryProjection(Projection):
    name = "directory"
    schema_version = 1
    sql_package = "projections.directory"
    handles = (
        User.Registered,
        User.EmailVerified,
        User.ProfileUpdated,
        User.RoleChanged,
        User.Suspended,
        User.Reinstated,
        User.Deleted,
        User.Erased,
        User.LoggedIn,
        Household.Created,
        Household.Renamed,
        Household.MemberJoined,
        Household.MemberRoleChanged,
        Household.MemberRemoved,
    )

    @singledispatchmethod
    def apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    @apply.register
    def _(self, e: User.Registered, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.users VALUES (%s, %s, %s, %s, 'active', false, %s, NULL, %s)",  # noqa: S608
            (e.originator_id, e.email, e.display_name, str(e.role), e.timestamp, e.originator_version),
        )

    @apply.register
    def _(self, e: User.EmailVerified, curs: Cursor[Any]) -> None:
        self._user(curs, e, "email_verified = %s", True)

    @apply.register
    def _(self, e: User.ProfileUpdated, curs: Cursor[Any]) -> None:
        self._user(curs, e, "display_name = %s", e.display_name)

    @apply.register
    def _(self, e: User.RoleChanged, curs: Cursor[Any]) -> None:
        self._user(curs, e, "role = %s", str(e.role))

    @apply.register
    def _(self, e: User.Suspended, curs: Cursor[Any]) -> None:
        self._user(curs, e, "status = %s", "suspended")

    @apply.register
    def _(self, e: User.Reinstated, curs: Cursor[Any]) -> None:
        self._user(curs, e, "status = %s", "active")

    @apply.register
    def _(self, e: User.Deleted, curs: Cursor[Any]) -> None:
        self._user(curs, e, "status = %s", "deleted")

    @apply.register
    def _(self, e: User.Erased, curs: Cursor[Any]) -> None:
        """The person's keys are gone: so are their address and name here (a rebuild reads
        them from the log as erased too)."""
        self._user(curs, e, "email = %s, display_name = %s", ERASED, ERASED)

    @apply.register
    def _(self, e: User.LoggedIn, curs: Cursor[Any]) -> None:
        self._user(curs, e, "last_login_at = %s", e.timestamp)

    @apply.register
    def _(self, e: Household.Created, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.households VALUES (%s, %s, %s, %s)",  # noqa: S608
            (e.originator_id, e.name, e.timestamp, e.originator_version),
        )
        curs.execute(
            f"INSERT INTO {self.schema}.members VALUES (%s, %s, 'family_owner', %s)",  # noqa: S608
            (e.originator_id, e.owner_id, e.timestamp),
        )

    @apply.register
    def _(self, e: Household.Renamed, curs: Cursor[Any]) -> None:
        curs.execute(
            f"UPDATE {self.schema}.households SET name = %s, version = %s WHERE household_id = %s",  # noqa: S608
            (e.name, e.originator_version, e.originator_id),
        )

    @apply.register
    def _(self, e: Household.MemberJoined, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.members VALUES (%s, %s, %s, %s)",  # noqa: S608
            (e.originator_id, e.user_id, str(e.role), e.timestamp),
        )

    @apply.register
    def _(self, e: Household.MemberRoleChanged, curs: Cursor[Any]) -> None:
        curs.execute(
            f"UPDATE {self.schema}.members SET role = %s WHERE household_id = %s AND user_id = %s",  # noqa: S608
            (str(e.role), e.originator_id, e.user_id),
        )

    @apply.register
    def _(self, e: Household.MemberRemoved, curs: Cursor[Any]) -> None:
        curs.execute(
            f"DELETE FROM {self.schema}.members WHERE household_id = %s AND user_id = %s",  # noqa: S608
            (e.originator_id, e.user_id),
        )

    def _user(self, curs: Cursor[Any], e: Any, assignment: str, *values: Any) -> None:
        curs.execute(
            f"UPDATE {self.schema}.users SET {assignment}, version = %s WHERE user_id = %s",  # noqa: S608
            (*values, e.originator_version, e.originator_id),
        )
        if curs.rowcount != 1:
            raise LookupError(f"user {e.originator_id} is not in the read model")
