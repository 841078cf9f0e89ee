"""Signing and checking an audit bundle (see commands/audit_export.py), without the database.

The signature is Ed25519 over the bundle's exact bytes, stored raw (64 bytes) in FILE.sig,
so that any Ed25519 tool checks it too, e.g.
``openssl pkeyutl -verify -pubin -inkey public.pem -rawin -in FILE -sigfile FILE.sig``.
The hashes are checked by recomputing each event's hash from the stored bytes the bundle
carries and its predecessor's hash, and by following each aggregate's chain through the
bundle.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from commands.audit import event_hash

FORMAT = 1
KEY_BYTES = 32


class BundleKeyError(ValueError):
    """A signing or verification key that is not a base64 Ed25519 key of 32 bytes."""


def dumps(line: dict[str, Any]) -> bytes:
    return json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def key_bytes(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BundleKeyError(f"the {what} is not base64") from None
    if len(raw) != KEY_BYTES:
        raise BundleKeyError(f"the {what} is {KEY_BYTES} bytes in base64, not {len(raw)}")
    return raw


def new_signing_key() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes_raw()


def public_key(signing_key: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(signing_key).public_key().public_bytes_raw()


def public_pem(public: bytes) -> str:
    key = Ed25519PublicKey.from_public_bytes(public)
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


def sign(bundle: bytes, signing_key: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(signing_key).sign(bundle)


def signature_holds(bundle: bytes, signature: bytes, public: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, bundle)
    except InvalidSignature:
        return False
    return True


def _hash_of(line: dict[str, Any]) -> bytes:
    stored = line["stored"]
    row = {
        "originator_id": UUID(line["aggregate_id"]),
        "originator_version": line["version"],
        "topic": stored["topic"],
        "state": base64.b64decode(stored["state"]),
        "metadata": stored["metadata"],
        "recorded_at": dt.datetime.fromisoformat(line["recorded_at"]),
    }
    return event_hash(bytes.fromhex(line["previous_hash"]), row)


def check_events(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings about the events of a bundle: a hash that its content does not give, or an
    aggregate's chain broken between two of its events in the bundle."""
    findings: list[dict[str, Any]] = []
    last: dict[str, tuple[int, str]] = {}  # aggregate -> (version, hash) met last
    for line in lines:
        where = {
            "position": line["position"],
            "aggregate_id": line["aggregate_id"],
            "version": line["version"],
        }
        if _hash_of(line).hex() != line["event_hash"]:
            findings.append({"kind": "modified", **where, "detail": "its content does not give its hash"})
        seen = last.get(line["aggregate_id"])
        if seen is not None and (seen[0] + 1, seen[1]) != (line["version"], line["previous_hash"]):
            detail = f"does not follow version {seen[0]} of the bundle in the chain"
            findings.append({"kind": "broken chain", **where, "detail": detail})
        last[line["aggregate_id"]] = (line["version"], line["event_hash"])
    return findings


@dataclass
class BundleCheck:
    signature_ok: bool
    events: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] | None = None  # the bundle's own verification line

    @property
    def ok(self) -> bool:
        return self.signature_ok and not self.findings


def parse(bundle: bytes) -> list[dict[str, Any]]:
    try:
        return [json.loads(line) for line in bundle.decode().splitlines()]
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a bundle of JSON lines: {error}") from None


def check_bundle(bundle: bytes, signature: bytes, public: bytes) -> BundleCheck:
    """The signature over the bytes, then the bundle's shape, hashes and own report."""
    check = BundleCheck(signature_holds(bundle, signature, public))
    try:
        lines = parse(bundle)
        check_shape(lines, check)
    except (ValueError, KeyError, TypeError) as error:
        check.findings.append({"kind": "unreadable", "detail": str(error)})
    return check


def check_shape(lines: list[dict[str, Any]], check: BundleCheck) -> None:
    if len(lines) < 2 or lines[0].get("kind") != "header" or lines[-1].get("kind") != "verification":
        raise ValueError("a bundle is a header line, event lines and a verification line")
    if lines[0].get("format") != FORMAT:
        raise ValueError(f"bundle format {lines[0].get('format')!r}, this verifier reads {FORMAT}")
    events = lines[1:-1]
    if any(line.get("kind") != "event" for line in events):
        raise ValueError("only event lines lie between the header and the verification")
    check.events, check.report = len(events), lines[-1]
    check.findings.extend(check_events(events))
    if check.report.get("events") != len(events):
        check.findings.append({"kind": "count", "detail": f"the report counts {check.report.get('events')}"})
    if not check.report.get("ok"):
        check.findings.append({"kind": "report", "detail": "the store did not verify when it was exported"})
