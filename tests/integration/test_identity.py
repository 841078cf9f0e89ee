"""Identity on the real PostgreSQL: unique emails under races, rehashing, refresh families."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from psycopg_pool import ConnectionPool

from commands.application import Ledger, event_store_env
from commands.messages import Login, Register, UpdateProfile
from commands.passwords import HASHER
from commands.personal_tokens import PersonalTokens
from commands.tokens import AccessGrant, InvalidTokenError, TokenService
from commands.users import InvalidCredentialsError, UserCommands
from commands.write_path import append
from ledger.errors import EmailTakenError
from ledger.household import Household
from ledger.user import EmailClaim, User

pytestmark = pytest.mark.integration
SECRET = "an-integration-test-secret-of-enough-length-0123456789"
PASSWORD = "a long and unusual passphrase"


@pytest.fixture
def pool(database: str) -> Iterator[ConnectionPool[Any]]:
    with ConnectionPool(database, min_size=1, max_size=8) as pool:
        yield pool


@pytest.fixture
def tokens(pool: ConnectionPool[Any]) -> TokenService:
    service = TokenService(SECRET, pool)
    service.create_schema()
    return service


def users_on(database: str, tokens: TokenService) -> UserCommands:
    return UserCommands(Ledger(event_store_env(database, pool_size=2)), tokens)


def test_concurrent_registrations_with_one_email_create_exactly_one_user(
    database: str, tokens: TokenService
) -> None:
    contenders = [users_on(database, tokens) for _ in range(8)]  # as 8 API processes
    outcomes: list[str] = []
    barrier = threading.Barrier(len(contenders))

    def register(users: UserCommands) -> None:
        barrier.wait()
        try:
            users.register(Register(email="Same@Example.org", password=PASSWORD, display_name="Twin"))
            outcomes.append("created")
        except EmailTakenError:
            outcomes.append("taken")

    threads = [threading.Thread(target=register, args=(u,)) for u in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for users in contenders:
        users.app.close()
    assert sorted(outcomes) == ["created"] + ["taken"] * 7
    with psycopg.connect(database) as conn:
        registered = conn.execute(
            "SELECT count(*) FROM eventstore.fiscaflow_events WHERE topic = 'ledger.user:User.Registered'"
        ).fetchone()
    assert registered == (1,)


def test_a_deleted_users_email_can_register_again(database: str, tokens: TokenService) -> None:
    users = users_on(database, tokens)
    first = users.register(Register(email="once@example.org", password=PASSWORD, display_name="Once"))
    with pytest.raises(EmailTakenError):
        users.register(Register(email="ONCE@example.org", password=PASSWORD, display_name="Twice"))
    users.delete(first.user_id, "user", first.user_id)
    second = users.register(Register(email="once@example.org", password=PASSWORD, display_name="Again"))
    assert second.user_id != first.user_id
    found = users.find("once@example.org")
    assert found is not None
    assert found.id == second.user_id
    users.app.close()


@pytest.mark.reliability
def test_a_weaker_stored_hash_is_replaced_on_login(database: str, tokens: TokenService) -> None:
    users = users_on(database, tokens)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    user = User.register("old@example.org", "Old", weak)
    household = Household.create("Home", user.id)
    user.join_household(household.id)
    append(users.app, user, EmailClaim("old@example.org", user.id), household)

    users.login(Login(email="old@example.org", password=PASSWORD), "client")

    stored = users.app.repository.get(user.id).password_hash
    assert stored != weak
    assert "$m=19456,t=2,p=1$" in stored
    assert not HASHER.check_needs_rehash(stored)
    types = [type(e).__name__ for e in users.app.events.get(user.id)]
    assert "PasswordRehashed" in types
    users.app.close()


@pytest.mark.reliability
def test_wrong_password_unknown_email_and_suspended_user_fail_alike(
    database: str, tokens: TokenService
) -> None:
    users = users_on(database, tokens)
    registered = users.register(Register(email="sus@example.org", password=PASSWORD, display_name="Sus"))
    attempts = [
        Login(email="sus@example.org", password="not the passphrase"),
        Login(email="nobody@example.org", password=PASSWORD),
        Login(email="not-an-email", password=PASSWORD),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidCredentialsError):
            users.login(attempt, "client")
    users.suspend("admin", registered.user_id, registered.user_id, "test")
    with pytest.raises(InvalidCredentialsError):
        users.login(Login(email="sus@example.org", password=PASSWORD), "client")
    failures = [type(e).__name__ for e in users.app.events.get(registered.user_id)].count("LoginFailed")
    assert failures == 2  # the wrong password and the suspended login are on the record
    users.app.close()


@pytest.mark.reliability
def test_refresh_rotation_reuse_revokes_the_family(database: str, tokens: TokenService) -> None:
    users = users_on(database, tokens)
    users.register(Register(email="rot@example.org", password=PASSWORD, display_name="Rot"))
    first = users.login(Login(email="rot@example.org", password=PASSWORD), "client")
    second = users.refresh(first.refresh_token)
    third = users.refresh(second.refresh_token)
    with pytest.raises(InvalidTokenError, match="reused"):
        users.refresh(first.refresh_token)  # a copy of a spent token shows up
    with pytest.raises(InvalidTokenError):
        users.refresh(third.refresh_token)  # the whole family is gone, the thief's and ours
    other = users.login(Login(email="rot@example.org", password=PASSWORD), "client")
    assert users.refresh(other.refresh_token).access_token  # another login is unaffected
    users.app.close()


@pytest.mark.reliability
def test_two_concurrent_refreshes_of_one_token_give_exactly_one_success(
    database: str, tokens: TokenService
) -> None:
    users = users_on(database, tokens)
    users.register(Register(email="race@example.org", password=PASSWORD, display_name="Race"))
    pair = users.login(Login(email="race@example.org", password=PASSWORD), "client")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def refresh() -> None:
        barrier.wait()
        try:
            users.refresh(pair.refresh_token)
            outcomes.append("ok")
        except InvalidTokenError:
            outcomes.append("refused")

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused"]
    users.app.close()


@pytest.mark.reliability
def test_refresh_tokens_are_stored_only_as_hashes(database: str, tokens: TokenService) -> None:
    users = users_on(database, tokens)
    users.register(Register(email="hash@example.org", password=PASSWORD, display_name="Hash"))
    pair = users.login(Login(email="hash@example.org", password=PASSWORD), "client")
    with psycopg.connect(database) as conn:
        stored = conn.execute("SELECT token_hash FROM auth.refresh_tokens").fetchall()
        events = conn.execute("SELECT state FROM eventstore.fiscaflow_events").fetchall()
    assert stored
    assert all(pair.refresh_token.encode() not in bytes(row[0]) for row in stored)
    assert all(PASSWORD.encode() not in bytes(row[0]) for row in events)  # never a plain password
    users.app.close()


def test_logins_revocations_and_role_changes_are_events(database: str, tokens: TokenService) -> None:
    users = users_on(database, tokens)
    registered = users.register(Register(email="audit@example.org", password=PASSWORD, display_name="Audit"))
    users.login(Login(email="audit@example.org", password=PASSWORD), "client-hash")
    users.logout(registered.user_id, None)
    users.change_role("admin", registered.user_id, registered.user_id, "premium")
    events = list(users.app.events.get(registered.user_id))
    types = [type(e).__name__ for e in events]
    assert types[-3:] == ["LoggedIn", "SessionsRevoked", "RoleChanged"]
    assert events[-3].client == "client-hash"  # hashed address, never the raw one
    assert (events[-1].role, events[-1].by) == ("premium", registered.user_id)
    users.app.close()


def test_a_personal_token_stops_working_when_it_expires(pool: ConnectionPool[Any]) -> None:
    now = [datetime(2026, 11, 1, tzinfo=UTC)]
    service = TokenService(SECRET, pool, clock=lambda: now[0])
    service.create_schema()
    personal = PersonalTokens(service)
    grant = AccessGrant(uuid.uuid4(), uuid.uuid4(), "family_member", "user")
    _, token, expires = personal.issue(grant, "script", ["read"], days=1)
    assert expires == now[0] + timedelta(days=1)
    found = personal.resolve(token)
    assert found is not None
    assert found.scopes == frozenset({"read"})
    now[0] += timedelta(days=1, seconds=1)
    assert personal.resolve(token) is None
    assert personal.resolve("ffpat_" + token[6:][::-1]) is None


@pytest.mark.reliability
def test_user_commands_racing_a_flood_of_failed_logins_on_the_user_never_conflict(
    database: str, tokens: TokenService
) -> None:
    """An attacker's failed logins append to the user; so does every command on the user.
    They run here on two application instances (as two API processes, with caches of their
    own), so the user's version moves under each command. Each command reloads and decides
    again: none is refused as a conflict, every failure is recorded once, nothing is lost."""
    owner, attacked = users_on(database, tokens), users_on(database, tokens)
    email = "flooded@example.org"
    registered = owner.register(Register(email=email, password=PASSWORD, display_name="Flooded"))
    user_id, admin = registered.user_id, uuid.uuid4()
    flooding, failures = threading.Event(), [0] * 3

    def attacker(n: int) -> None:
        while not flooding.is_set():
            with pytest.raises(InvalidCredentialsError):
                attacked.login(Login(email=email, password=f"guess {n} {failures[n]}"), f"attacker-{n}")
            failures[n] += 1

    threads = [threading.Thread(target=attacker, args=(n,)) for n in range(len(failures))]
    for t in threads:
        t.start()
    commands: list[str] = []
    try:
        for round_ in range(6):
            owner.update_profile(user_id, UpdateProfile(display_name=f"Flooded {round_}"))
            owner.change_role("admin", admin, user_id, "premium" if round_ % 2 else "user")
            owner.login(Login(email=email, password=PASSWORD), "owner")
            owner.suspend("admin", admin, user_id, f"round {round_}")
            owner.reinstate("admin", admin, user_id)
            owner.logout(user_id, None)
            commands += ["ProfileUpdated", "RoleChanged", "LoggedIn", "Suspended", "Reinstated"]
            commands += ["SessionsRevoked", "SessionsRevoked"]  # suspend revokes, logout revokes
    finally:
        flooding.set()
        for t in threads:
            t.join()
    types = [type(e).__name__ for e in owner.app.events.get(user_id)]
    assert types.count("LoginFailed") == sum(failures) > 0, failures
    interleaved = [t for t in types if t in set(commands)]
    assert sorted(interleaved) == sorted(commands)
    versions = [e.originator_version for e in owner.app.events.get(user_id)]
    assert versions == list(range(1, len(versions) + 1))
    owner.app.close()
    attacked.app.close()
