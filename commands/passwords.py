"""Passwords: the policy (ASVS 5.0 / NIST 800-63B) and argon2id hashing.

Policy: 8 to 128 characters (no truncation, no composition rules), not one of the
common passwords we ship, not the user's own email address.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ledger.errors import InvalidInputError

MIN_LENGTH = 8
MAX_LENGTH = 128

# OWASP's first argon2id configuration (and the ASVS 5.0 floor): m = 19 MiB, t = 2, p = 1.
HASHER = PasswordHasher(
    time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)


@cache
def _dummy_hash() -> str:
    """Verified when the email is unknown, so that an unknown user costs the same time."""
    return HASHER.hash("an unknown user has no password")


class WeakPasswordError(InvalidInputError):
    type = "weak-password"
    title = "Password not accepted"


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("commands").joinpath("data/common-passwords.txt").read_text()
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def check_password(password: str, email: str = "") -> str:
    """Return the password if the policy accepts it, else raise WeakPasswordError."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPasswordError(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in common_passwords():
        raise WeakPasswordError("this password is among the most common ones; choose another")
    if email and lowered == email.lower():
        raise WeakPasswordError("a password must not be your email address")
    return password


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one argon2id verification."""
    try:
        return HASHER.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """A hash made with weaker parameters than today's is replaced on the next login."""
    return HASHER.check_needs_rehash(password_hash)
