"""Which fields of which events are personal data, and whose.

Personal data in user and household events is stored encrypted with a key of its own
subject (a person): erasing the subject's keys (crypto-shredding) leaves those fields
unreadable for ever while the events, their amounts, positions and hashes stay as they are.
A subject is a user id, or for an address that may never belong to a user (an invitation)
the id derived from the address, which is also the id of its email claim.

The encryption itself is done where events are stored and read (commands.personal_data);
this module only declares, so the domain stays free of keys and databases.
"""

from __future__ import annotations

import os
import threading
import time
from base64 import b64decode, b64encode
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic

from ledger.user import EmailClaim

ERASED = "[erased]"  # what an erased (or here unreadable) personal field reads as


def email_subject(email: str) -> UUID:
    """The subject of an address: the same id as the address's email claim."""
    return EmailClaim.create_id(email)


@dataclass(frozen=True)
class Personal:
    """The personal fields of one event class (all of them strings) and whose they are."""

    fields: tuple[str, ...]
    subject: Callable[[Mapping[str, Any]], UUID]  # from the event's plain fields


def _originator(state: Mapping[str, Any]) -> UUID:
    return UUID(str(state["originator_id"]))


def _user_id(state: Mapping[str, Any]) -> UUID:
    return UUID(str(state["user_id"]))


def _invitee(state: Mapping[str, Any]) -> UUID:
    return email_subject(str(state["email"]))


USER = "ledger.user:User."  # the topics of the events: module, then qualified class name
PERSONAL: dict[str, Personal] = {
    USER + "Registered": Personal(("email", "display_name", "password_hash"), _originator),
    USER + "ProfileUpdated": Personal(("display_name",), _originator),
    USER + "PasswordChanged": Personal(("password_hash",), _originator),
    USER + "PasswordRehashed": Personal(("password_hash",), _originator),
    USER + "Suspended": Personal(("reason",), _originator),
    USER + "LoggedIn": Personal(("client",), _originator),
    USER + "LoginFailed": Personal(("client",), _originator),
    USER + "SessionsRevoked": Personal(("reason",), _originator),
    "ledger.user:EmailClaim.Claimed": Personal(("email",), _user_id),
    "ledger.household:Household.MemberInvited": Personal(("email",), _invitee),
}
ERASED_TOPIC = USER + "Erased"


def personal_fields(topic: str) -> tuple[str, ...]:
    """The personal fields of the events of a topic (none for most)."""
    found = PERSONAL.get(topic)
    return found.fields if found else ()


class Keys(Protocol):
    """Where the subjects' keys live (in PostgreSQL: commands.personal_data.KeyRing for the
    write side, projections.keys.KeyReader for readers)."""

    def writing_key(self, subject: UUID) -> tuple[UUID, bytes]:
        """The subject's current key (id and 32 bytes), made on first use."""
        ...

    def reading_key(self, key_id: UUID) -> tuple[bytes, UUID] | None:
        """The key with this id and its subject, or None once it is erased."""
        ...


def _aad(originator_id: Any, field: str) -> bytes:
    """Binds a ciphertext to its event's aggregate and field: it cannot be moved elsewhere."""
    return f"fiscaflow:pii:{originator_id}:{field}".encode()


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"pii", "nonce", "data"}


class PersonalDataMapper(Mapper[UUID]):
    """Stores the personal fields of the events declared in PERSONAL encrypted with their
    subject's key (AES-256-GCM); reads them back in plain text, or as ERASED once the key is
    deleted. Events stored before encryption existed keep their plain fields.

    Keys are kept in memory for ``ttl`` seconds (a replay reads many events of one person).
    Reading a ``User.Erased`` event, or ``forget``, drops them at once; other processes see
    an erasure after at most ``ttl``. A mapper without keys reads personal fields as ERASED
    and refuses to store them."""

    def __init__(
        self,
        transcoder: Transcoder,
        keys: Keys | None = None,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(transcoder=transcoder)
        self.keys, self.ttl, self.clock = keys, ttl, clock
        self._lock = threading.Lock()
        self._writing: dict[UUID, tuple[float, UUID, bytes]] = {}
        self._reading: dict[UUID, tuple[float, bytes | None, UUID | None]] = {}

    def forget(self, subjects: list[UUID]) -> None:
        """Drop the keys of these subjects held in memory (after erasing them)."""
        gone = set(subjects)
        with self._lock:
            for subject in gone:
                self._writing.pop(subject, None)
            for key_id, (_, _, owner) in list(self._reading.items()):
                if owner in gone or owner is None:
                    del self._reading[key_id]

    def _writing_key(self, keys: Keys, subject: UUID) -> tuple[UUID, bytes]:
        now = self.clock()
        with self._lock:
            cached = self._writing.get(subject)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        key_id, key = keys.writing_key(subject)
        with self._lock:
            self._writing[subject] = (now + self.ttl, key_id, key)
            self._reading[key_id] = (now + self.ttl, key, subject)
        return key_id, key

    def _reading_key(self, key_id: UUID) -> bytes | None:
        if self.keys is None:
            return None
        now = self.clock()
        with self._lock:
            cached = self._reading.get(key_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = self.keys.reading_key(key_id)
        key, subject = found if found is not None else (None, None)
        with self._lock:
            self._reading[key_id] = (now + self.ttl, key, subject)
        return key

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        personal = PERSONAL.get(get_topic(type(domain_event)))
        if personal is None:
            return super().to_stored_event(domain_event)
        if self.keys is None:
            raise RuntimeError("personal data is stored only by a mapper with keys")
        state = dict(vars(domain_event))
        key_id, key = self._writing_key(self.keys, personal.subject(state))
        for field in personal.fields:
            if isinstance(state.get(field), str):
                nonce = os.urandom(12)
                sealed = AESGCM(key).encrypt(
                    nonce, state[field].encode(), _aad(state["originator_id"], field)
                )
                state[field] = {
                    "pii": key_id.hex,
                    "nonce": b64encode(nonce).decode(),
                    "data": b64encode(sealed).decode(),
                }
        copy = object.__new__(type(domain_event))
        object.__setattr__(copy, "__dict__", state)
        return super().to_stored_event(copy)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        personal = PERSONAL.get(stored_event.topic)
        if personal is not None:
            state = vars(domain_event)
            for field in personal.fields:
                if is_sealed(state.get(field)):
                    state[field] = self._unseal(stored_event.originator_id, field, state[field])
        elif stored_event.topic == ERASED_TOPIC:
            self.forget(list(vars(domain_event).get("subjects") or ()))  # no stale copy here
        return domain_event

    def _unseal(self, originator_id: Any, field: str, value: dict[str, str]) -> str:
        key = self._reading_key(UUID(value["pii"]))
        if key is None:
            return ERASED
        try:
            plain = AESGCM(key).decrypt(
                b64decode(value["nonce"]), b64decode(value["data"]), _aad(originator_id, field)
            )
        except InvalidTag:
            raise ValueError(
                f"the personal field {field!r} of {originator_id} fails authentication"
            ) from None
        return plain.decode()
