"""Handlers of identity commands: register, log in, refresh, log out, profile, roles."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from psycopg.rows import tuple_row

from commands.application import Ledger
from commands.loading import load_user, with_retries
from commands.messages import ChangePassword, Login, Register, UpdateProfile
from commands.passwords import check_password, hash_password, needs_rehash, verify_password
from commands.personal_data import erase_in
from commands.second_factor import SecondFactors
from commands.tokens import AccessGrant, InvalidTokenError, TokenPair, TokenService
from commands.write_path import Appended, append
from ledger.errors import (
    ConcurrencyConflictError,
    EmailTakenError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from ledger.household import Household
from ledger.personal import PersonalDataMapper, email_subject
from ledger.user import EmailClaim, GlobalRole, User, UserStatus, normalise_email

VERIFY_TTL = timedelta(hours=24)
SECOND_FACTOR_TTL = timedelta(minutes=5)


class WrongPasswordError(ForbiddenError):
    type = "wrong-password"
    title = "The current password is wrong"


class InvalidCredentialsError(Exception):
    """Unknown email, wrong password or a login that may not log in: all look the same.

    ``after_answer``: the failure still to be recorded on the user, when the caller asked to
    do it after answering (the API), so that a wrong password for a known email takes no
    longer to answer than an unknown email (the append takes a few ms)."""

    def __init__(self, after_answer: Callable[[], object] | None = None) -> None:
        super().__init__("invalid email or password")
        self.after_answer = after_answer


@dataclass(frozen=True, slots=True)
class Registered:
    user_id: UUID
    household_id: UUID
    verification_token: str
    position: int


@dataclass(frozen=True, slots=True)
class SecondFactorChallenge:
    """The password was right; now a TOTP or recovery code is needed, with this token."""

    mfa_token: str


class UserCommands:
    def __init__(self, app: Ledger, tokens: TokenService, factors: SecondFactors | None = None) -> None:
        self.app = app
        self.tokens = tokens
        self.factors = factors or SecondFactors(tokens.pool)

    def register(self, command: Register) -> Registered:
        email = normalise_email(command.email)
        check_password(command.password, email)
        user = User.register(email, command.display_name, hash_password(command.password))
        claim = self._claim_email(email, user.id)
        # The default name holds no personal data: household names are not encrypted.
        household = Household.create(command.household_name or "Household", user.id)
        user.join_household(household.id)
        try:
            result = append(self.app, user, claim, household)
        except ConcurrencyConflictError:
            raise EmailTakenError("this email is already registered") from None
        token, _ = self.tokens.sign("verify-email", str(user.id), VERIFY_TTL, email=email)
        return Registered(user.id, household.id, token, result.position)

    def _claim_email(self, email: str, user_id: UUID) -> EmailClaim:
        try:
            claim = self.app.repository.get(EmailClaim.create_id(email))
        except AggregateNotFoundError:
            return EmailClaim(email, user_id)
        if claim.user_id is not None:
            raise EmailTakenError("this email is already registered")
        claim.claim(user_id)  # released by a deleted user: the version decides races
        return claim

    def find(self, email: str) -> User | None:
        try:
            claim = self.app.repository.get(EmailClaim.create_id(normalise_email(email)))
        except (AggregateNotFoundError, InvalidInputError):  # an invalid address is unknown too
            return None
        if claim.user_id is None:
            return None
        user = self.app.repository.get(claim.user_id)
        return user if isinstance(user, User) else None

    def login(
        self, command: Login, client: str, *, record_failure_later: bool = False
    ) -> TokenPair | SecondFactorChallenge:
        """Verify the password (always spending one argon2id verification) and start a family,
        or ask for the second factor. A failure of a known user is recorded on the user, now
        or (``record_failure_later``) by whoever catches the error, once it has answered."""
        user = self.find(command.email)
        ok = verify_password(user.password_hash if user else None, command.password)
        if user is None:
            raise InvalidCredentialsError
        if not ok or not user.is_active:
            user_id = user.id
            if record_failure_later:
                raise InvalidCredentialsError(lambda: self._record_failure(user_id, client))
            self._record_failure(user_id, client)
            raise InvalidCredentialsError
        if needs_rehash(user.password_hash):
            verified, rehashed = user.password_hash, hash_password(command.password)

            def rehash(current: User) -> None:
                if current.password_hash == verified:  # not if it changed since we verified it
                    current.rehash_password(rehashed)

            user, _ = self._change(user.id, rehash, allow_inactive=True)
        if user.two_factor:
            return SecondFactorChallenge(self.tokens.sign("mfa", str(user.id), SECOND_FACTOR_TTL)[0])
        return self._logged_in(user.id, client)

    def login_second_factor(self, mfa_token: str, code: str, client: str) -> TokenPair:
        """Finish a login with a TOTP code or a recovery code."""
        claims = self.tokens.verify("mfa", mfa_token)
        user = load_user(self.app, UUID(claims["sub"]), allow_inactive=True)
        if not user.is_active or not self.factors.check(user.id, code, time.time()):
            self._record_failure(user.id, client)
            raise InvalidCredentialsError
        return self._logged_in(user.id, client)

    def _logged_in(self, user_id: UUID, client: str) -> TokenPair:
        def record(user: User) -> None:
            if not user.is_active:  # suspended or deleted since the password was checked
                raise InvalidCredentialsError
            user.record_login(client)

        user, _ = self._change(user_id, record, allow_inactive=True)
        return self.tokens.start_family(self.grant(user, None))

    def _change(
        self, user_id: UUID, decide: Callable[[User], None], *, allow_inactive: bool = False
    ) -> tuple[User, Appended]:
        """Load the user, decide, append; again from the load when another writer appended to
        the user first (a failed login, an admin, another session), so that those races never
        reach the client as 409. ``decide`` must do nothing but change the user: it may run
        more than once."""

        def attempt() -> tuple[User, Appended]:
            user = load_user(self.app, user_id, allow_inactive=allow_inactive)
            decide(user)
            return user, append(self.app, user)

        return with_retries(attempt)

    def start_two_factor(self, user_id: UUID) -> tuple[str, str]:
        user = load_user(self.app, user_id)
        return self.factors.start(user.id, user.email)

    def confirm_two_factor(self, user_id: UUID, code: str) -> list[str]:
        user = load_user(self.app, user_id)
        codes = self.factors.confirm(user.id, code, time.time())
        self._change(user.id, lambda current: current.enable_two_factor())
        return codes

    def disable_two_factor(self, user_id: UUID, code: str) -> Appended:
        user = load_user(self.app, user_id)
        if not self.factors.check(user.id, code, time.time()):
            raise ForbiddenError("the code does not match")
        self.factors.remove(user.id)
        return self._change(user.id, lambda current: current.disable_two_factor())[1]

    def _record_failure(self, user_id: UUID, client: str) -> None:
        # A flood of failures on one user must not turn into 409s.
        self._change(user_id, lambda user: user.record_failed_login(client), allow_inactive=True)

    def grant(self, user: User, household_id: UUID | None) -> AccessGrant:
        """What an access token for this user in this household (default: the first) says."""
        if not user.households:
            raise ForbiddenError("you belong to no household; create one or accept an invitation")
        chosen = household_id or user.households[0]
        household = self.app.repository.get(chosen)
        role = household.role_of(user.id) if isinstance(household, Household) else None
        if role is None:
            raise NotFoundError(f"no household {chosen}")
        return AccessGrant(user.id, chosen, str(role), str(user.role))

    def refresh(self, refresh_token: str) -> TokenPair:
        family_id, user_id, household_id = self.tokens.spend(refresh_token)
        user = self.app.repository.get(user_id)
        if not isinstance(user, User) or not user.is_active or household_id not in user.households:
            self.tokens.revoke_user(user_id, "user no longer active or not in the household")
            raise InvalidTokenError("this login has ended")
        return self.tokens.continue_family(family_id, self.grant(user, household_id))

    def switch_household(self, user_id: UUID, household_id: UUID) -> TokenPair:
        user = load_user(self.app, user_id)
        if household_id not in user.households:
            raise NotFoundError(f"no household {household_id}")
        return self.tokens.start_family(self.grant(user, household_id))

    def update_profile(self, user_id: UUID, command: UpdateProfile) -> Appended:
        return self._change(user_id, lambda user: user.update_profile(command.display_name))[1]

    def change_password(self, user_id: UUID, command: ChangePassword) -> Appended:
        """Needs the current password; ends every session of the user."""
        user = load_user(self.app, user_id)
        if not verify_password(user.password_hash, command.current_password):
            raise WrongPasswordError("the current password is wrong")
        check_password(command.new_password, user.email)
        verified, new_hash = user.password_hash, hash_password(command.new_password)

        def change(current: User) -> None:
            if current.password_hash != verified:  # changed by another session meanwhile
                raise WrongPasswordError("the current password is wrong")
            current.change_password(new_hash)
            current.revoke_sessions("password changed")

        result = self._change(user.id, change)[1]
        # Sessions end; personal access tokens of scripts keep working (they have no password).
        self.tokens.revoke_user(user.id, "password changed", personal_tokens=False)
        return result

    def verify_email(self, token: str) -> Appended:
        claims = self.tokens.verify("verify-email", token)
        return self._change(UUID(claims["sub"]), lambda user: user.verify_email(claims["email"]))[1]

    def logout(self, user_id: UUID, refresh_token: str | None) -> Appended:
        user = load_user(self.app, user_id)
        if refresh_token is not None and not self.tokens.revoke_family(refresh_token, user_id, "logout"):
            raise InvalidTokenError("this refresh token is not one of your active logins")
        return self._change(user.id, lambda current: current.revoke_sessions("logout"))[1]

    def delete(self, actor: UUID, actor_role: str, user_id: UUID) -> Appended:
        """A user deletes themself; an admin deletes anyone. The email becomes free again."""
        if actor != user_id and actor_role != GlobalRole.ADMIN:
            raise NotFoundError(f"no user {user_id}")

        def attempt() -> Appended:
            user = load_user(self.app, user_id, allow_inactive=True)
            user.delete(actor)
            claim = self.app.repository.get(EmailClaim.create_id(user.email))
            claim.release()
            return append(self.app, user, claim)

        result = with_retries(attempt)
        self.tokens.revoke_user(user_id, "user deleted")
        return result

    def erase(self, actor: UUID, actor_role: str, user_id: UUID) -> Appended:
        """Right to erasure: delete the user (if not yet) and record ``Erased`` in the same
        transaction that deletes the keys of their personal data (crypto-shredding); then
        the secrets kept beside the log. Safe to repeat: it deletes whatever is left."""
        if actor != user_id and actor_role != GlobalRole.ADMIN:
            raise NotFoundError(f"no user {user_id}")

        def attempt() -> tuple[User, Appended]:
            user = load_user(self.app, user_id, allow_inactive=True)
            if user.erased:
                return user, Appended(id=user.id, version=user.version, position=0)
            changed: list[User | EmailClaim] = [user]
            if user.is_active or user.status is not UserStatus.DELETED:
                user.delete(actor)
                claim = self.app.repository.get(EmailClaim.create_id(user.email))
                if claim.user_id == user.id:
                    claim.release()
                    changed.append(claim)
            person, address = user.id, email_subject(user.email)
            user.erase(actor, [person, address])
            # The keys go in the transaction that records the erasure: both or neither.
            return user, append(self.app, *changed, within=lambda curs: erase_in(curs, [person], [address]))

        user, result = with_retries(attempt)
        person, *addresses = user.erased_subjects
        self.app.keys.erase([person], addresses)  # a repeat: whatever a restored backup brought back
        assert isinstance(self.app.mapper, PersonalDataMapper)
        self.app.mapper.forget(list(user.erased_subjects))
        with self.tokens.pool.connection() as conn, conn.transaction():
            for table in ("auth.second_factors", "auth.personal_tokens", "notify.deliveries"):
                if conn.cursor(row_factory=tuple_row).execute(
                    "SELECT to_regclass(%s)", (table,)
                ).fetchone() != (None,):
                    conn.execute(f"DELETE FROM {table} WHERE user_id = %s", (user.id,))  # noqa: S608
        self.tokens.revoke_user(user.id, "user erased")
        return result

    def change_role(self, actor_role: str, actor: UUID, user_id: UUID, role: str) -> Appended:
        self.check_admin(actor_role)
        return self._change(user_id, lambda user: user.change_role(role, actor), allow_inactive=True)[1]

    def suspend(self, actor_role: str, actor: UUID, user_id: UUID, reason: str) -> Appended:
        self.check_admin(actor_role)

        def suspend(user: User) -> None:
            user.suspend(reason, actor)
            user.revoke_sessions("suspended")

        result = self._change(user_id, suspend, allow_inactive=True)[1]
        self.tokens.revoke_user(user_id, "suspended")
        return result

    def reinstate(self, actor_role: str, actor: UUID, user_id: UUID) -> Appended:
        self.check_admin(actor_role)
        return self._change(user_id, lambda user: user.reinstate(actor), allow_inactive=True)[1]

    @staticmethod
    def check_admin(role: str) -> None:
        if role != GlobalRole.ADMIN:
            raise ForbiddenError("only an admin may manage users")
