"""The JWT attack corpus and refresh-token rotation, against a real server over HTTP.

The module's server has a JWT secret the tests know, so that they can forge tokens that
differ from a valid one in exactly one way (an expired ``exp``, a missing claim, another
algorithm...) and prove that the valid one is accepted (the positive controls).

The attacker's RS256 and ES256 signatures are real ones, made with a few lines of plain
Python (the `cryptography` package is not a dependency of the project).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import http.client
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import PASSWORD, Member, login, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

SECRET = secrets.token_urlsafe(36)  # 48 characters, known to the tests only
ACCOUNTS = "/api/v1/accounts"
DROP = object()  # a claim to leave out
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Overrides conftest's server: the same, but with a JWT secret the tests know."""
    conninfo = create_database()
    log = tmp_path_factory.mktemp("keyed-server") / "server.log"
    env = {"DATABASE_URL": conninfo, "FISCAFLOW_MODE": "development", "FISCAFLOW_JWT_SECRET": SECRET}
    try:
        running = Server(env, log)
    except BaseException:
        drop_database(conninfo)
        raise
    try:
        yield running
    finally:
        running.stop()
        drop_database(conninfo)


# --- forging tokens -------------------------------------------------------------------


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def segment(part: dict[str, Any]) -> str:
    return b64(json.dumps(part, separators=(",", ":")).encode())


def compose(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return f"{segment(header)}.{segment(payload)}.{b64(signature)}"


def hmac_signed(
    header: dict[str, Any], payload: dict[str, Any], key: bytes, digest: Any = hashlib.sha256
) -> str:
    """An HMAC-signed token, built by hand so that any header and any key can be used."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


HS256 = {"alg": "HS256", "typ": "JWT"}


def now() -> int:
    return int(time.time())


def claims(member: Member, **changes: Any) -> dict[str, Any]:
    """The claims of a valid access token for this member; DROP leaves a claim out."""
    issued = now()
    payload: dict[str, Any] = {
        "iss": "fiscaflow",
        "aud": "fiscaflow-api",
        "sub": member.user_id,
        "typ": "access",
        "iat": issued,
        "nbf": issued,
        "exp": issued + 600,
        "jti": uuid4().hex,
        "iat_ms": issued * 1000,
        "hid": member.household_id,
        "hrole": "family_owner",
        "role": "user",
    }
    for name, value in changes.items():
        if value is DROP:
            payload.pop(name)
        else:
            payload[name] = value
    return payload


def genuine(member: Member, **changes: Any) -> str:
    """Signed with the server's own secret and algorithm."""
    return hmac_signed(HS256, claims(member, **changes), SECRET.encode())


def flip(token: str, index: int) -> str:
    """The token with one base64url character of its signature changed."""
    head, _, signature = token.rpartition(".")
    changed = "A" if signature[index] != "A" else "B"
    return f"{head}.{signature[:index]}{changed}{signature[index + 1 :]}"


# --- an attacker's own keys, in plain Python ---------------------------------------------


def odd_primes_below(limit: int) -> list[int]:
    sieve = bytearray([1]) * limit
    for n in range(3, int(limit**0.5) + 1, 2):
        if sieve[n]:
            sieve[n * n :: 2 * n] = bytes(len(range(n * n, limit, 2 * n)))
    return [n for n in range(3, limit, 2) if sieve[n]]


SMALL_PRIMES = odd_primes_below(20000)
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def probable_prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (1 << (bits - 1)) | 1
        if any(candidate % p == 0 for p in SMALL_PRIMES):
            continue
        odd, twos = candidate - 1, 0
        while odd % 2 == 0:
            odd, twos = odd // 2, twos + 1
        for _ in range(16):  # Miller-Rabin
            x = pow(secrets.randbelow(candidate - 3) + 2, odd, candidate)
            if x in (1, candidate - 1):
                continue
            for _ in range(twos - 1):
                x = pow(x, 2, candidate)
                if x == candidate - 1:
                    break
            else:
                break
        else:
            return candidate


def der(tag: int, content: bytes) -> bytes:
    size = len(content)
    length = (
        bytes([size])
        if size < 128
        else bytes([0x80 | ((size.bit_length() + 7) // 8)])
        + (size.to_bytes((size.bit_length() + 7) // 8, "big"))
    )
    return bytes([tag]) + length + content


def der_int(value: int) -> bytes:
    return der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


@dataclass(frozen=True)
class RsaKey:
    n: int
    e: int
    d: int

    @classmethod
    def generate(cls, bits: int = 2048) -> RsaKey:
        e = 65537
        while True:
            p, q = probable_prime(bits // 2), probable_prime(bits // 2)
            phi = (p - 1) * (q - 1)
            if p != q and phi % e and (p * q).bit_length() == bits:
                return cls(p * q, e, pow(e, -1, phi))

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8

    def sign(self, message: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 with SHA-256 (RS256)."""
        digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        encoded = b"\x00\x01" + b"\xff" * (self.size - len(digest_info) - 3) + b"\x00" + digest_info
        return pow(int.from_bytes(encoded, "big"), self.d, self.n).to_bytes(self.size, "big")

    def jwk(self) -> dict[str, str]:
        return {"kty": "RSA", "n": b64(self.n.to_bytes(self.size, "big")), "e": b64(b"\x01\x00\x01")}

    def public_pem(self) -> bytes:
        """SubjectPublicKeyInfo, as a server's published RS256 key would be."""
        algorithm = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + der(0x05, b""))
        key = der(0x03, b"\x00" + der(0x30, der_int(self.n) + der_int(self.e)))
        body = base64.encodebytes(der(0x30, algorithm + key)).decode().replace("\n", "")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return "\n".join(["-----BEGIN PUBLIC KEY-----", *lines, "-----END PUBLIC KEY-----", ""]).encode()


P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)
Point = tuple[int, int] | None


def p256_add(a: Point, b: Point) -> Point:
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % P256_P == 0:
        return None
    if a == b:
        slope = (3 * a[0] * a[0] - 3) * pow(2 * a[1], -1, P256_P)
    else:
        slope = (b[1] - a[1]) * pow(b[0] - a[0], -1, P256_P)
    x = (slope * slope - a[0] - b[0]) % P256_P
    return x, (slope * (a[0] - x) - a[1]) % P256_P


def p256_multiply(k: int, point: Point = P256_G) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = p256_add(result, point)
        point, k = p256_add(point, point), k >> 1
    return result


def es256_sign(private: int, message: bytes) -> bytes:
    """ECDSA over P-256 with SHA-256, as the 64-byte r || s of JWS (ES256)."""
    z = int.from_bytes(hashlib.sha256(message).digest(), "big")
    while True:
        k = secrets.randbelow(P256_N - 1) + 1
        point = p256_multiply(k)
        assert point is not None
        r = point[0] % P256_N
        s = pow(k, -1, P256_N) * (z + r * private) % P256_N
        if r and s:
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def asymmetric(header: dict[str, Any], payload: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{segment(header)}.{segment(payload)}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


@dataclass(frozen=True)
class Corpus:
    victim: Member
    other: Member
    rsa_key: RsaKey
    ec_key: int

    def rs256(self, **headers: Any) -> str:
        return asymmetric({"alg": "RS256", "typ": "JWT", **headers}, claims(self.victim), self.rsa_key.sign)

    def es256(self) -> str:
        sign = functools.partial(es256_sign, self.ec_key)
        return asymmetric({"alg": "ES256", "typ": "JWT"}, claims(self.victim), sign)


@pytest.fixture(scope="module")
def corpus(server: Server) -> Iterator[Corpus]:
    victim, other = sign_up(server.url, "Victim"), sign_up(server.url, "Other")
    try:
        yield Corpus(victim, other, RsaKey.generate(), secrets.randbelow(P256_N - 1) + 1)
    finally:
        victim.client.close()
        other.client.close()


def alg_none(alg: str, signed: bool) -> Callable[[Corpus], str]:
    def make(c: Corpus) -> str:
        header, payload = {"alg": alg, "typ": "JWT"}, claims(c.victim)
        if not signed:
            return compose(header, payload)
        # even a signature that is right for these bytes under HS256 must not help
        return hmac_signed(header, payload, SECRET.encode())

    return make


def missing(claim: str) -> Callable[[Corpus], str]:
    return lambda c: genuine(c.victim, **{claim: DROP})


def tampered(c: Corpus, **changes: Any) -> str:
    """A genuine token with some claims of its payload changed and its signature kept."""
    header, payload, signature = genuine(c.victim).split(".")
    original = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{segment(original | changes)}.{signature}"


ATTACKS: dict[str, Callable[[Corpus], str]] = {
    **{f"alg-{alg}-unsigned": alg_none(alg, signed=False) for alg in ("none", "None", "NONE", "nOnE")},
    **{f"alg-{alg}-signed": alg_none(alg, signed=True) for alg in ("none", "None", "NONE", "nOnE")},
    "hs256-other-secret": lambda c: hmac_signed(HS256, claims(c.victim), secrets.token_bytes(48)),
    "hs512-right-secret": lambda c: hmac_signed(
        {"alg": "HS512", "typ": "JWT"}, claims(c.victim), SECRET.encode(), hashlib.sha512
    ),
    "hs384-right-secret": lambda c: hmac_signed(
        {"alg": "HS384", "typ": "JWT"}, claims(c.victim), SECRET.encode(), hashlib.sha384
    ),
    "signature-stripped": lambda c: genuine(c.victim).rpartition(".")[0] + ".",
    "signature-segment-removed": lambda c: genuine(c.victim).rpartition(".")[0],
    "signature-truncated": lambda c: genuine(c.victim)[:-6],
    "signature-one-char-flipped": lambda c: flip(genuine(c.victim), 10),
    "signature-first-char-flipped": lambda c: flip(genuine(c.victim), 0),
    "payload-hid-of-another-household": lambda c: tampered(c, hid=c.other.household_id),
    "payload-sub-of-another-user": lambda c: tampered(c, sub=c.other.user_id),
    "payload-role-admin": lambda c: tampered(c, role="admin"),
    "payload-exp-extended": lambda c: tampered(c, exp=now() + 10**6),
    "expired": lambda c: genuine(c.victim, iat=now() - 3600, nbf=now() - 3600, exp=now() - 60),
    "not-yet-valid-nbf": lambda c: genuine(c.victim, nbf=now() + 600),
    "wrong-aud": lambda c: genuine(c.victim, aud="another-api"),
    "aud-list-with-ours": lambda c: genuine(c.victim, aud=["fiscaflow-api", "another-api"]),
    "wrong-iss": lambda c: genuine(c.victim, iss="https://evil.example"),
    **{
        f"missing-{claim}": missing(claim)
        for claim in ("exp", "iat", "nbf", "iss", "aud", "jti", "sub", "typ")
    },
    "typ-verify-email-as-issued": lambda c: str(c.victim.verification_token),
    "typ-verify-email-forged": lambda c: genuine(c.victim, typ="verify-email"),
    "typ-refresh": lambda c: genuine(c.victim, typ="refresh"),
    "typ-invite": lambda c: genuine(c.victim, typ="invite"),
    "refresh-token-as-bearer": lambda c: c.victim.refresh_token,
    "rs256-attacker-key": lambda c: c.rs256(),
    "es256-attacker-key": lambda c: c.es256(),
    "hs256-public-pem-as-secret": lambda c: hmac_signed(HS256, claims(c.victim), c.rsa_key.public_pem()),
    "rs256-injected-jku": lambda c: c.rs256(jku="http://127.0.0.1:9/jwks.json", kid="k1"),
    "rs256-injected-x5u": lambda c: c.rs256(x5u="http://127.0.0.1:9/cert.pem"),
    "rs256-injected-jwk": lambda c: c.rs256(jwk=c.rsa_key.jwk()),
    "hs256-injected-jwk": lambda c: hmac_signed(
        {**HS256, "jwk": {"kty": "oct", "k": b64(b"attacker")}}, claims(c.victim), b"attacker"
    ),
    "kid-path-traversal-empty-key": lambda c: hmac_signed(
        {**HS256, "kid": "../../../../dev/null"}, claims(c.victim), b""
    ),
    "kid-path-traversal-bad-signature": lambda c: flip(
        hmac_signed({**HS256, "kid": "../../../../dev/null"}, claims(c.victim), SECRET.encode()), 5
    ),
    "garbage": lambda c: "garbage",
    "three-garbage-segments": lambda c: "a.b.c",
    "empty-segments": lambda c: "..",
    "json-instead-of-jwt": lambda c: json.dumps(claims(c.victim)),
}


def assert_refused(response: httpx.Response, token: str = "") -> None:
    """401 problem+json that does not echo the token (nor any long part of it)."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["status"] == 401
    echoed = [part for part in [token, *token.split(".")] if len(part) >= 12 and part in response.text]
    assert echoed == []


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_forged_or_unfit_token_is_refused(server: Server, corpus: Corpus, attack: str) -> None:
    token = ATTACKS[attack](corpus)
    response = httpx.get(f"{server.url}{ACCOUNTS}", headers={"Authorization": f"Bearer {token}"})
    assert_refused(response, token)


def test_the_positive_controls_are_accepted(server: Server, corpus: Corpus) -> None:
    """The corpus is not vacuous: the same forging code with nothing wrong gets 200."""
    for token in (corpus.victim.access_token, genuine(corpus.victim)):
        response = httpx.get(f"{server.url}{ACCOUNTS}", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
    other = genuine(corpus.other)  # forging works for anyone once the secret is known
    assert httpx.get(f"{server.url}{ACCOUNTS}", headers={"Authorization": f"Bearer {other}"}).is_success


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNzd29yZA==", "Basic ", "Digest username=x", "garbage"],
)
def test_an_empty_or_non_bearer_authorization_header_is_refused(server: Server, authorization: str) -> None:
    """Sent with http.client, which (unlike httpx) lets a header value end in a space."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", ACCOUNTS, headers={"Authorization": authorization})
        raw = connection.getresponse()
        response = httpx.Response(raw.status, headers=raw.getheaders(), content=raw.read())
    finally:
        connection.close()
    assert_refused(response)


@pytest.mark.parametrize("scheme", ["Basic", "Token"])
def test_a_valid_jwt_under_another_scheme_is_refused(server: Server, corpus: Corpus, scheme: str) -> None:
    response = httpx.get(
        f"{server.url}{ACCOUNTS}", headers={"Authorization": f"{scheme} {corpus.victim.access_token}"}
    )
    assert response.status_code == 401


# --- refresh rotation, logout, password change -------------------------------------------


def refresh(server: Server, token: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/users/refresh-token", json={"refresh_token": token}, timeout=10)


def accounts_with(server: Server, access_token: str) -> httpx.Response:
    return httpx.get(f"{server.url}{ACCOUNTS}", headers={"Authorization": f"Bearer {access_token}"})


def test_a_spent_refresh_token_is_refused_and_its_replay_revokes_the_family(
    server: Server, member: Member
) -> None:
    other_login = login(server.url, member.email).json()  # another family of the same user
    first = refresh(server, member.refresh_token)
    assert first.status_code == 200, first.text
    newest = first.json()
    assert newest["refresh_token"] != member.refresh_token
    assert accounts_with(server, newest["access_token"]).status_code == 200

    replay = refresh(server, member.refresh_token)
    assert_refused(replay, member.refresh_token)
    assert_refused(refresh(server, newest["refresh_token"]), newest["refresh_token"])  # family revoked
    assert refresh(server, other_login["refresh_token"]).status_code == 200  # only that family


def test_after_a_replay_the_access_token_of_the_revoked_family_is_refused(
    server: Server, member: Member
) -> None:
    stolen = refresh(server, member.refresh_token).json()  # the thief refreshes first
    assert refresh(server, member.refresh_token).status_code == 401  # the owner's replay
    assert accounts_with(server, stolen["access_token"]).status_code == 401


@pytest.mark.parametrize("racers", [2, 5])
def test_concurrent_refreshes_of_one_token_give_exactly_one_success(
    server: Server, member: Member, racers: int
) -> None:
    start = threading.Barrier(racers)
    statuses: list[int] = []
    lock = threading.Lock()

    def race() -> None:
        start.wait()
        status = refresh(server, member.refresh_token).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200] + [401] * (racers - 1)


def test_a_token_accepted_before_is_refused_once_it_expires(server: Server, member: Member) -> None:
    """The server remembers a verified token (api/auth.VERIFIED), never past its expiry."""
    expires = now() + 2
    token = genuine(member, exp=expires)
    assert accounts_with(server, token).status_code == 200
    assert accounts_with(server, token).status_code == 200  # the remembered verification
    time.sleep(max(0.0, expires - time.time()) + 0.2)
    assert_refused(accounts_with(server, token), token)


def test_logout_denies_the_access_token_and_revokes_its_refresh_token(server: Server, member: Member) -> None:
    assert accounts_with(server, member.access_token).status_code == 200
    out = member.client.post("/api/v1/users/logout", json={"refresh_token": member.refresh_token})
    assert out.status_code == 200, out.text
    assert_refused(accounts_with(server, member.access_token), member.access_token)
    assert_refused(refresh(server, member.refresh_token), member.refresh_token)
    again = login(server.url, member.email)
    assert again.status_code == 200
    assert accounts_with(server, again.json()["access_token"]).status_code == 200


def test_a_password_change_ends_every_session_and_a_fresh_login_works(server: Server, member: Member) -> None:
    second = login(server.url, member.email).json()
    new_password = "a different and still unusual passphrase"
    changed = member.client.put(
        "/api/v1/users/password", json={"current_password": PASSWORD, "new_password": new_password}
    )
    assert changed.status_code == 200, changed.text
    for session in (member.access_token, second["access_token"]):
        assert_refused(accounts_with(server, session), session)
    for spent in (member.refresh_token, second["refresh_token"]):
        assert_refused(refresh(server, spent), spent)
    assert login(server.url, member.email).status_code == 401  # the old password
    fresh = login(server.url, member.email, new_password)
    assert fresh.status_code == 200
    assert accounts_with(server, fresh.json()["access_token"]).status_code == 200
    assert refresh(server, fresh.json()["refresh_token"]).status_code == 200
