"""Brute force, user enumeration and the password policy, against a real server over HTTP.

Every failed login from this machine also counts against the per-address budget of the
throttle (100 free failures per hour): the module spends about 70 of them on its own
server (conftest starts one per module), so no test is throttled by another's failures.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.server import Server
from tests.e2e.users import PASSWORD, Member, login

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

WRONG = "not the right passphrase at all"
PROBLEM = "application/problem+json"
INVALID_CREDENTIALS = {
    "type": "https://fiscaflow.dev/problems/invalid-credentials",
    "title": "Login failed",
    "status": 401,
    "detail": "invalid email or password",
    "instance": "/api/v1/users/login",
}


def unknown_email() -> str:
    return f"nobody-{uuid.uuid4().hex[:12]}@example.org"


def register(server: Server, password: str, email: str | None = None) -> httpx.Response:
    body = {"email": email or unknown_email(), "password": password, "display_name": "Policy"}
    return httpx.post(f"{server.url}/api/v1/users/register", json=body, timeout=10)


def retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"].endswith("/login-throttled")
    return int(response.headers["Retry-After"])


def hammer(server: Server, email: str, attempts: int) -> list[httpx.Response]:
    return [login(server.url, email, WRONG) for _ in range(attempts)]


# --- brute force ----------------------------------------------------------------------


def test_ten_failures_lock_the_account_and_the_owner_gets_back_in_after_retry_after(
    server: Server, member: Member
) -> None:
    failures = hammer(server, member.email, 12)
    assert [r.status_code for r in failures[:10]] == [401] * 10
    # the 11th is still evaluated (and locks) or already refused; from the 12th on: 429
    assert failures[10].status_code in {401, 429}
    wait = retry_after(failures[11])
    assert 1 <= wait <= 2  # the first lock is 2 s: the legitimate user is not locked out for long
    assert retry_after(login(server.url, member.email)) <= 2  # locked even for the right password

    time.sleep(wait + 0.2)
    back = login(server.url, member.email)
    assert back.status_code == 200, back.text
    assert httpx.get(
        f"{server.url}/api/v1/accounts", headers={"Authorization": f"Bearer {back.json()['access_token']}"}
    ).is_success
    assert login(server.url, member.email, WRONG).status_code == 401  # a success cleared the count


def test_an_unknown_email_is_throttled_exactly_like_a_known_one(server: Server, member: Member) -> None:
    known, unknown = hammer(server, member.email, 12), hammer(server, unknown_email(), 12)
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert unknown[11].status_code == 429
    assert abs(retry_after(unknown[11]) - retry_after(known[11])) <= 1
    assert set(unknown[11].json()) == set(known[11].json())
    assert unknown[11].json()["type"] == known[11].json()["type"]


# --- enumeration ------------------------------------------------------------------------


def make_admin(server: Server, email: str) -> None:
    """The documented way to make the first admin: the operator CLI on the server's database."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"DATABASE_URL": server.conninfo, "FISCAFLOW_MODE": "development"}
    done = subprocess.run(
        [sys.executable, "-m", "ops", "users", "set-role", email, "admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def authenticated_as_admin(server: Server, email: str) -> httpx.Client:
    tokens = login(server.url, email)  # the role is read at login
    assert tokens.status_code == 200, tokens.text
    access = tokens.json()["access_token"]
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {access}"}, timeout=10)


def shape(response: httpx.Response) -> tuple[int, str, str, Any]:
    return (
        response.status_code,
        response.headers["content-type"],
        response.headers.get("www-authenticate", ""),
        response.json(),
    )


def test_unknown_email_wrong_password_and_suspended_user_look_the_same(
    server: Server, signup: Callable[..., Member]
) -> None:
    admin, suspended, victim = signup("Admin"), signup("Suspended"), signup("Victim")
    make_admin(server, admin.email)
    with authenticated_as_admin(server, admin.email) as client:
        out = client.post(f"/api/v1/users/{suspended.user_id}/suspend", json={"reason": "test"})
        assert out.status_code == 200, out.text

    answers = {
        "unknown email": login(server.url, unknown_email(), PASSWORD),
        "wrong password": login(server.url, victim.email, WRONG),
        "suspended, right password": login(server.url, suspended.email, PASSWORD),
        "suspended, wrong password": login(server.url, suspended.email, WRONG),
    }
    shapes = {case: shape(response) for case, response in answers.items()}
    assert shapes["unknown email"][3] == INVALID_CREDENTIALS
    assert all(s == shapes["unknown email"] for s in shapes.values()), shapes


def test_unknown_email_and_wrong_password_take_the_same_time(
    server: Server, signup: Callable[..., Member]
) -> None:
    """Not a benchmark. An attacker who times many tries compares the fast end of the two
    distributions (the noise of a shared machine only adds time; on this VM the answers
    are bimodal, around 43 and 58 ms, so a median of a few tries jumps by 5-15 ms). So: 30
    interleaved tries each, 50 ms apart (a known user's failure is recorded after the
    answer; a try right behind it would time that work too), and the 10th percentiles may
    differ by less than 3 ms (RELIABILITY.md: "within a few ms"). Measured: 0.7-1.3 ms;
    recording the failure before answering gave 6-7 ms, a skipped argon2id verification
    would give tens of ms."""
    victims = [signup("Timed") for _ in range(4)]  # fewer than 10 failures each

    def timed(email: str) -> float:
        started = time.perf_counter()
        response = login(server.url, email, WRONG)
        elapsed = time.perf_counter() - started
        assert response.status_code == 401, response.text
        return elapsed

    timed(unknown_email())  # warm both paths
    timed(victims[0].email)
    unknown, wrong = [], []
    for n in range(30):
        unknown.append(timed(unknown_email()))
        time.sleep(0.05)
        wrong.append(timed(victims[n % len(victims)].email))
        time.sleep(0.05)
    fast = statistics.quantiles(unknown, n=10)[0], statistics.quantiles(wrong, n=10)[0]
    shown = {"unknown": sorted(round(t * 1000, 1) for t in unknown)}
    shown["wrong"] = sorted(round(t * 1000, 1) for t in wrong)
    assert abs(fast[0] - fast[1]) < 0.003, (fast, shown)


def test_a_failed_login_of_a_known_user_is_still_recorded_on_the_user_after_the_answer(
    server: Server, signup: Callable[..., Member]
) -> None:
    """Recorded once the 401 has been sent (so that it does not show in the timing)."""
    victim = signup("Recorded")
    assert login(server.url, victim.email, WRONG).status_code == 401
    deadline, row = time.monotonic() + 10, None
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM eventstore.fiscaflow_events WHERE originator_id = %s"
                " AND topic = 'ledger.user:User.LoginFailed'",
                (victim.user_id,),
            ).fetchone()
            if row != (0,):
                break
            time.sleep(0.02)
    assert row == (1,), "the failure is recorded on the user, once"


def test_registering_a_taken_email_does_not_reveal_that_it_is_taken(server: Server, member: Member) -> None:
    fresh = register(server, "yet another unusual passphrase")
    taken = register(server, "yet another unusual passphrase", email=member.email)
    assert fresh.status_code == taken.status_code


def test_guessing_the_current_password_on_a_password_change_is_throttled(member: Member) -> None:
    guesses = [
        member.client.put(
            "/api/v1/users/password",
            json={"current_password": f"guess number {n:04d}", "new_password": "a brand new passphrase"},
        ).status_code
        for n in range(15)
    ]
    assert 429 in guesses, guesses


# --- password policy ----------------------------------------------------------------------


def assert_weak(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize(
    "password",
    ["seven77", "x" * 129, "password123", "iloveyou1", "qwertyuiop", "PASSWORD123", "QwertyUiop"],
    ids=["7-chars", "129-chars", "password123", "iloveyou1", "qwertyuiop", "upper-case", "mixed-case"],
)
def test_a_short_long_or_common_password_is_refused(server: Server, password: str) -> None:
    email = unknown_email()
    assert_weak(register(server, password, email))
    assert "user_id" in register(server, "a long and unusual passphrase", email).json()  # nothing kept


def test_the_email_address_as_password_is_refused(server: Server) -> None:
    email = unknown_email()
    assert_weak(register(server, email, email))
    assert_weak(register(server, email.upper(), email))


@pytest.mark.parametrize("length", [8, 64, 128])
def test_passwords_of_8_to_128_characters_are_accepted_whole(server: Server, length: int) -> None:
    password = (uuid.uuid4().hex * 4)[:length]
    email = unknown_email()
    assert register(server, password, email).status_code == 202
    assert login(server.url, email, password).status_code == 200


def test_a_long_password_is_not_truncated(server: Server) -> None:
    password = (("é-" + uuid.uuid4().hex) * 3)[:100]  # far over 72 bytes, bcrypt's limit
    email = unknown_email()
    assert register(server, password, email).status_code == 202
    assert login(server.url, email, password[:72]).status_code == 401
    assert login(server.url, email, password).status_code == 200


def test_no_composition_rules(server: Server) -> None:
    """Only length and the common list count: no digits, case or symbols are demanded."""
    for password in ("lowercase letters only here", "ДЛИННЫЙ ПАРОЛЬ", "🔑🔑🔑🔑🔑🔑🔑🔑"):
        assert "user_id" in register(server, password).json(), password
