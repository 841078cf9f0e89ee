"""The User aggregate: a person who logs in, with a global role and a lifecycle.

Passwords arrive here already hashed (argon2id, decided before the event): the domain
never sees a plain password and never reads a clock.
"""

from __future__ import annotations

import re
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.errors import IllegalTransitionError, InvalidInputError
from ledger.text import check_text

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
MAX_DISPLAY_NAME = 100
ERASED = "[erased]"  # what an erased person's personal data reads as (ledger/personal.py)


class GlobalRole(StrEnum):
    USER = "user"
    PREMIUM = "premium"
    ADMIN = "admin"
    AUDITOR = "auditor"  # compliance staff: reads the whole event log, changes nothing


class UserStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


def normalise_email(email: str) -> str:
    """The one spelling of an address that uniqueness is decided on."""
    normalised = (check_text("email", email.strip(), 320) or "").lower()
    if not EMAIL.match(normalised) or len(normalised) > 254:
        raise InvalidInputError("not a valid email address")
    return normalised


def check_display_name(name: str) -> str:
    trimmed = check_text("display_name", name.strip(), MAX_DISPLAY_NAME) or ""
    if not trimmed or len(trimmed) > MAX_DISPLAY_NAME:
        raise InvalidInputError(f"a display name has 1 to {MAX_DISPLAY_NAME} characters")
    return trimmed


def global_role(role: str) -> GlobalRole:
    try:
        return GlobalRole(role)
    except ValueError:
        raise InvalidInputError(f"unknown role {role!r}") from None


class User(Aggregate):
    """A person with an email, a password hash, a global role and a status."""

    erased = False  # set by Erased: the personal data's keys are gone
    erased_subjects: tuple[UUID, ...] = ()

    @classmethod
    def register(cls, email: str, display_name: str, password_hash: str) -> User:
        return cls(normalise_email(email), check_display_name(display_name), password_hash, GlobalRole.USER)

    @event("Registered")
    def __init__(self, email: str, display_name: str, password_hash: str, role: GlobalRole) -> None:
        self.email = email
        self.display_name = display_name
        self.password_hash = password_hash
        self.role = GlobalRole(role)
        self.status = UserStatus.ACTIVE
        self.email_verified = False
        self.households: list[UUID] = []  # in joining order; the first is the default
        self.two_factor = False

    def enable_two_factor(self) -> None:
        self.check_active()
        if self.two_factor:
            raise IllegalTransitionError("two-factor authentication is already on")
        self._two_factor_enabled()

    @event("TwoFactorEnabled")
    def _two_factor_enabled(self) -> None:
        self.two_factor = True

    def disable_two_factor(self) -> None:
        if not self.two_factor:
            raise IllegalTransitionError("two-factor authentication is off")
        self._two_factor_disabled()

    @event("TwoFactorDisabled")
    def _two_factor_disabled(self) -> None:
        self.two_factor = False

    def join_household(self, household_id: UUID) -> None:
        self.check_active()
        if household_id not in self.households:
            self._joined_household(household_id)

    @event("JoinedHousehold")
    def _joined_household(self, household_id: UUID) -> None:
        self.households = [*self.households, household_id]

    def leave_household(self, household_id: UUID) -> None:
        if household_id in self.households:
            self._left_household(household_id)

    @event("LeftHousehold")
    def _left_household(self, household_id: UUID) -> None:
        self.households = [h for h in self.households if h != household_id]

    def verify_email(self, email: str) -> None:
        self.check_active()
        if self.email_verified or email != self.email:
            raise IllegalTransitionError("this verification link is spent or not for this address")
        self._email_verified()

    @event("EmailVerified")
    def _email_verified(self) -> None:
        self.email_verified = True

    def update_profile(self, display_name: str) -> None:
        self.check_active()
        self._profile_updated(check_display_name(display_name))

    @event("ProfileUpdated")
    def _profile_updated(self, display_name: str) -> None:
        self.display_name = display_name

    def change_password(self, password_hash: str) -> None:
        self.check_active()
        self._password_changed(password_hash)

    @event("PasswordChanged")
    def _password_changed(self, password_hash: str) -> None:
        self.password_hash = password_hash

    def rehash_password(self, password_hash: str) -> None:
        """Store a hash made with stronger parameters (on a successful login)."""
        self._password_rehashed(password_hash)

    @event("PasswordRehashed")
    def _password_rehashed(self, password_hash: str) -> None:
        self.password_hash = password_hash

    def change_role(self, role: str, by: UUID) -> None:
        self.check_active()
        self._role_changed(global_role(role), by)

    @event("RoleChanged")
    def _role_changed(self, role: GlobalRole, by: UUID) -> None:
        self.role = GlobalRole(role)

    def suspend(self, reason: str, by: UUID) -> None:
        self.check_active()
        self._suspended(check_text("reason", reason, 500) or "", by)

    @event("Suspended")
    def _suspended(self, reason: str, by: UUID) -> None:
        self.status = UserStatus.SUSPENDED

    def reinstate(self, by: UUID) -> None:
        if self.status is not UserStatus.SUSPENDED:
            raise IllegalTransitionError("only a suspended user can be reinstated")
        self._reinstated(by)

    @event("Reinstated")
    def _reinstated(self, by: UUID) -> None:
        self.status = UserStatus.ACTIVE

    def delete(self, by: UUID) -> None:
        if self.status is UserStatus.DELETED:
            raise IllegalTransitionError("the user is already deleted")
        self._deleted(by)

    @event("Deleted")
    def _deleted(self, by: UUID) -> None:
        self.status = UserStatus.DELETED

    def erase(self, by: UUID, subjects: list[UUID]) -> None:
        """Record the erasure of this person's personal data (the keys of the subjects are
        deleted by the caller once this is stored). Only a deleted user is erased."""
        if self.status is not UserStatus.DELETED:
            raise IllegalTransitionError("only a deleted user can be erased")
        if self.erased:
            raise IllegalTransitionError("the user is already erased")
        self._erased(by, subjects)

    @event("Erased")
    def _erased(self, by: UUID, subjects: list[UUID]) -> None:
        self.erased = True
        self.erased_subjects = tuple(subjects)
        # No copy in memory (an aggregate cache) outlives the erasure.
        self.email = self.display_name = self.password_hash = ERASED

    def record_login(self, client: str) -> None:
        self._logged_in(client)

    @event("LoggedIn")
    def _logged_in(self, client: str) -> None:
        pass

    def record_failed_login(self, client: str) -> None:
        self._login_failed(client)

    @event("LoginFailed")
    def _login_failed(self, client: str) -> None:
        pass

    def revoke_sessions(self, reason: str) -> None:
        self._sessions_revoked(reason)

    @event("SessionsRevoked")
    def _sessions_revoked(self, reason: str) -> None:
        pass

    def check_active(self) -> None:
        if self.status is not UserStatus.ACTIVE:
            raise IllegalTransitionError(f"the user is {self.status}")

    @property
    def is_active(self) -> bool:
        return self.status is UserStatus.ACTIVE


class EmailClaim(Aggregate):
    """Holds an email address for one user. Its id derives from the address, so two
    registrations of one address collide on (id, version) in the event store: exactly
    one wins, however concurrent."""

    @staticmethod
    def create_id(email: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"fiscaflow:email:{email}")

    @event("Claimed")
    def __init__(self, email: str, user_id: UUID) -> None:
        self.user_id: UUID | None = user_id

    def claim(self, user_id: UUID) -> None:
        if self.user_id is not None:
            raise IllegalTransitionError("the address is taken")
        self._reclaimed(user_id)

    @event("Reclaimed")
    def _reclaimed(self, user_id: UUID) -> None:
        self.user_id = user_id

    def release(self) -> None:
        self._released()

    @event("Released")
    def _released(self) -> None:
        self.user_id = None
