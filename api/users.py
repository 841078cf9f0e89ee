"""User endpoints: register, log in, refresh, log out, profile, password, admin actions."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import asdict
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, post, put
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from api import throttle
from api.auth import Principal, deny_token, revoke_access, sessions_ended
from api.consistency import TokenHeader, TokenQuery, read_after
from api.responses import Accepted, accepted, command, query
from api.services import Services
from api.tenancy import caller, services
from commands.messages import (
    ChangePassword,
    ChangeRole,
    Login,
    Logout,
    RefreshToken,
    Register,
    Suspend,
    SwitchHousehold,
    UpdateProfile,
    VerifyEmail,
)
from commands.tokens import AccessGrant, RefreshReuseError, TokenPair
from commands.users import SecondFactorChallenge, WrongPasswordError
from ledger.errors import EmailTakenError
from queries import directory as q
from queries.db import DIRECTORY_SCHEMA
from queries.views import ProfileView

log = logging.getLogger("fiscaflow.users")


class Tokens(msgspec.Struct, kw_only=True):
    """An access token (15 minutes) and the refresh token that gets the next one."""

    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class SecondFactorNeeded(msgspec.Struct, kw_only=True, tag="second-factor"):
    """The password was right; send a TOTP or recovery code with this token to
    POST /api/v1/users/login/2fa within 5 minutes."""

    mfa_token: str


# A 6-digit TOTP code or a recovery code such as "3f9a1-0c2d4".
OneTimeCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F-]{6,20}$", examples=["123456"])]


class SecondFactorCode(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    mfa_token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    code: OneTimeCode


class Code(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: OneTimeCode


class Enrolment(msgspec.Struct, kw_only=True):
    """Add the secret to an authenticator app (or scan the otpauth URI), then confirm."""

    secret: str
    otpauth_uri: str


class RecoveryCodes(msgspec.Struct, kw_only=True):
    """Each code works once instead of a TOTP code. They are shown only now."""

    recovery_codes: list[str]


class NewPersonalToken(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, examples=["budget script"])]
    scopes: Annotated[list[Literal["read", "write"]], msgspec.Meta(min_length=1, max_length=2)]
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 90


class IssuedPersonalToken(msgspec.Struct, kw_only=True):
    """Use as `Authorization: Bearer <token>`; it is shown only now."""

    id: UUID
    token: str
    scopes: list[str]
    expires_at: dt.datetime


class PersonalTokenView(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    scopes: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked: bool


REGISTERED = "If the address was free, the login is created: confirm it with the emailed token."


class RegisteredView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Always the same in production; in development a new login's details are added."""

    detail: str
    user_id: FromPath[UUID] | None = None
    household_id: FromPath[UUID] | None = None
    consistency_token: int | None = None
    verification_token: str | None = None


def tokens(pair: TokenPair) -> Tokens:
    return Tokens(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
    )


def client_fingerprint(request: Request[Any, Any, Any], secret: str) -> str:
    """The client address, keyed-hashed: enough to correlate, not to recover."""
    address = request.client.host if request.client else "unknown"
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()[:16]


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    dependencies = {
        "services": Provide(services, sync_to_thread=False),
        "me": Provide(caller, sync_to_thread=False),
    }

    @command(post, "/register", "register", 202, blocking=False)
    async def register(self, data: JSONBody[Register], services: NamedDependency[Services]) -> RegisteredView:
        """Create a login (argon2id-hashed password) and a first household that you own.

        The answer is the same whether or not the address was free, so registration does
        not reveal who has an account: the verification email tells the owner. In
        development mode only, a new login's ids and verification token are in the answer."""
        try:
            result = await sync_to_thread(services.users.register, data)
        except EmailTakenError:
            log.info("registration for an address that is taken")
            return RegisteredView(detail=REGISTERED)
        if not services.settings.development:
            return RegisteredView(detail=REGISTERED)
        # The token is in the answer, not in the log: logs never hold tokens (ops/log_masking.py).
        log.warning("development mode: the email verification token for %s is in the answer", result.user_id)
        return RegisteredView(
            detail=REGISTERED,
            user_id=result.user_id,
            household_id=result.household_id,
            consistency_token=result.position,
            verification_token=result.verification_token,
        )

    @command(post, "/login", "login", blocking=False)
    async def login(
        self, data: JSONBody[Login], request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Tokens | SecondFactorNeeded:
        """Exchange email and password for tokens (or, with 2FA on, for a second-factor
        challenge). Unknown email, wrong password and a suspended login all answer the same
        401; repeated failures back off (429)."""
        store = request.app.stores.get("auth")
        address = request.client.host if request.client else "unknown"
        await throttle.check(store, data.email, address)
        client = client_fingerprint(request, services.tokens.secret)
        try:
            outcome = await sync_to_thread(
                lambda: services.users.login(data, client, record_failure_later=True)
            )
        except Exception:  # the failure of a known user is recorded after the answer (api/errors.py)
            await throttle.failed(store, data.email, address)
            raise
        if isinstance(outcome, SecondFactorChallenge):
            return SecondFactorNeeded(mfa_token=outcome.mfa_token)
        await throttle.succeeded(store, data.email)
        return tokens(outcome)

    @command(post, "/login/2fa", "loginSecondFactor", blocking=False)
    async def login_second_factor(
        self,
        data: JSONBody[SecondFactorCode],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
    ) -> Tokens:
        """Finish a login with a TOTP code or a recovery code. Failures back off like logins."""
        store = request.app.stores.get("auth")
        address = request.client.host if request.client else "unknown"
        subject = f"mfa:{data.mfa_token[-16:]}"
        await throttle.check(store, subject, address)
        client = client_fingerprint(request, services.tokens.secret)
        try:
            pair = await sync_to_thread(services.users.login_second_factor, data.mfa_token, data.code, client)
        except Exception:
            await throttle.failed(store, subject, address)
            raise
        return tokens(pair)

    @command(post, "/2fa", "startTwoFactor", 201)
    def start_two_factor(
        self, services: NamedDependency[Services], me: NamedDependency[Principal]
    ) -> Enrolment:
        """Start TOTP enrolment: a new secret, active once confirmed with a code."""
        secret, uri = services.users.start_two_factor(me.user_id)
        return Enrolment(secret=secret, otpauth_uri=uri)

    @command(post, "/2fa/confirm", "confirmTwoFactor")
    def confirm_two_factor(
        self, data: JSONBody[Code], services: NamedDependency[Services], me: NamedDependency[Principal]
    ) -> RecoveryCodes:
        """Turn 2FA on with a first code; answers the one-time recovery codes."""
        return RecoveryCodes(recovery_codes=services.users.confirm_two_factor(me.user_id, data.code))

    @command(post, "/2fa/disable", "disableTwoFactor")
    def disable_two_factor(
        self, data: JSONBody[Code], services: NamedDependency[Services], me: NamedDependency[Principal]
    ) -> Response[Accepted]:
        """Turn 2FA off (a current TOTP code or a recovery code is required)."""
        return accepted(services.users.disable_two_factor(me.user_id, data.code))

    @command(post, "/tokens", "createPersonalToken", 201)
    def create_personal_token(
        self,
        data: JSONBody[NewPersonalToken],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> IssuedPersonalToken:
        """A personal access token for scripts: scopes `read` and/or `write`, for the household
        you are in now, reaching accounts and transactions only."""
        grant = AccessGrant(me.user_id, me.household_id, me.household_role, me.role)
        token_id, token, expires = services.personal_tokens.issue(
            grant, data.name, list(data.scopes), data.expires_in_days
        )
        return IssuedPersonalToken(
            id=token_id, token=token, scopes=sorted(set(data.scopes)), expires_at=expires
        )

    @query("/tokens", "listPersonalTokens")
    def list_personal_tokens(
        self, services: NamedDependency[Services], me: NamedDependency[Principal]
    ) -> list[PersonalTokenView]:
        """Your personal access tokens (never the tokens themselves)."""
        return [PersonalTokenView(**asdict(t)) for t in services.personal_tokens.list(me.user_id)]

    @command(delete, "/tokens/{token_id:uuid}", "revokePersonalToken", 204)
    def revoke_personal_token(
        self, token_id: FromPath[UUID], services: NamedDependency[Services], me: NamedDependency[Principal]
    ) -> None:
        """Revoke one of your personal access tokens."""
        services.personal_tokens.revoke(me.user_id, token_id)

    @command(post, "/refresh-token", "refreshToken", blocking=False)
    async def refresh(
        self,
        data: JSONBody[RefreshToken],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
    ) -> Tokens:
        """Spend a refresh token for a new pair. A refresh token works once: presenting a
        spent one again ends every session of that login, access tokens included."""
        try:
            pair = await sync_to_thread(services.users.refresh, data.refresh_token)
        except RefreshReuseError as reuse:
            log.warning("refresh token reused for user %s: sessions revoked", reuse.user_id)
            await revoke_access(request.app.stores.get("auth"), reuse.user_id)
            raise
        return tokens(pair)

    @command(post, "/logout", "logout", blocking=False)
    async def logout(
        self,
        data: JSONBody[Logout],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Accepted:
        """End this login: the refresh-token family is revoked and this access token denied."""
        result = await sync_to_thread(services.users.logout, me.user_id, data.refresh_token)
        await deny_token(request.app.stores.get("auth"), me)
        return Accepted(id=result.id, version=result.version, consistency_token=result.position)

    @command(post, "/verify-email", "verifyEmail")
    def verify_email(
        self, data: JSONBody[VerifyEmail], services: NamedDependency[Services]
    ) -> Response[Accepted]:
        """Confirm an email address with the one-time token sent to it."""
        return accepted(services.users.verify_email(data.token))

    @query("/profile", "getProfile")
    def get_profile(
        self,
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> ProfileView:
        """Your profile."""
        read_after(services, (DIRECTORY_SCHEMA,), token, after)
        return q.profile(services.reads, me.user_id)

    @command(put, "/profile", "updateProfile")
    def update_profile(
        self,
        data: JSONBody[UpdateProfile],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Response[Accepted]:
        """Change your display name."""
        return accepted(services.users.update_profile(me.user_id, data))

    @command(put, "/password", "changePassword", blocking=False)
    async def change_password(
        self,
        data: JSONBody[ChangePassword],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Accepted:
        """Change your password (the current one is required, and wrong guesses back off like
        logins); every session ends."""
        store = request.app.stores.get("auth")
        subject, address = f"password-change:{me.user_id}", "-"
        await throttle.check(store, subject, address)
        try:
            result = await sync_to_thread(services.users.change_password, me.user_id, data)
        except WrongPasswordError:
            await throttle.failed(store, subject, address)
            raise
        await revoke_access(store, me.user_id)
        return Accepted(id=result.id, version=result.version, consistency_token=result.position)

    @command(post, "/switch-household", "switchHousehold")
    def switch_household(
        self,
        data: JSONBody[SwitchHousehold],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Tokens:
        """Tokens for another of your households."""
        return tokens(services.users.switch_household(me.user_id, data.household_id))

    @command(delete, "/{user_id:uuid}", "deleteUser", blocking=False)
    async def delete_user(
        self,
        user_id: FromPath[UUID],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Accepted:
        """Delete your own user (or, as an admin, anyone's). Its email becomes free again."""
        result = await sync_to_thread(services.users.delete, me.user_id, me.role, user_id)
        return await sessions_ended(request, user_id, result)

    @command(post, "/{user_id:uuid}/erasure", "eraseUser", blocking=False)
    async def erase_user(
        self,
        user_id: FromPath[UUID],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Accepted:
        """Right to erasure (yours, or as an admin anyone's): deletes the user if not yet
        deleted and shreds the keys of their personal data. Their email, name, password hash
        and login details then read as "[erased]" everywhere, for ever; their amounts and the
        event log's hashes stay. Repeating it is harmless."""
        result = await sync_to_thread(services.users.erase, me.user_id, me.role, user_id)
        return await sessions_ended(request, user_id, result)

    @query("/", "listUsers")
    def list_users(
        self,
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> list[ProfileView]:
        """Every user (admins only)."""
        me.check_admin()
        return q.list_users(services.reads, limit, offset)

    @command(put, "/{user_id:uuid}/role", "changeUserRole")
    def change_role(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[ChangeRole],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Response[Accepted]:
        """Give a user the role user, premium or admin (admins only)."""
        return accepted(services.users.change_role(me.role, me.user_id, user_id, data.role))

    @command(post, "/{user_id:uuid}/suspend", "suspendUser", blocking=False)
    async def suspend(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[Suspend],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        me: NamedDependency[Principal],
    ) -> Accepted:
        """Suspend a user (admins only): every session ends, logins are refused."""
        result = await sync_to_thread(services.users.suspend, me.role, me.user_id, user_id, data.reason)
        return await sessions_ended(request, user_id, result)

    @command(post, "/{user_id:uuid}/reinstate", "reinstateUser")
    def reinstate(
        self, user_id: FromPath[UUID], services: NamedDependency[Services], me: NamedDependency[Principal]
    ) -> Response[Accepted]:
        """Lift a suspension (admins only)."""
        return accepted(services.users.reinstate(me.role, me.user_id, user_id))
