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
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic

from ledger.user import ERASED, EmailClaim


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

    def writing_key(self, subject: UUID) -> tuple[UUID, bytes] | None:
        """The subject's current key (id and 32 bytes), made on first use; None for an
        erased person, whose fields are then stored as ERASED."""
        ...

    def reading_key(self, key_id: UUID) -> tuple[bytes, UUID] | None:
        """The key with this id and its subject, or None once it is erased."""
        ...

    def erased(self, subject: UUID) -> bool:
        """Whether the subject was erased (masks fields stored in plain text before)."""
        ...


def _aad(originator_id: Any, field: str) -> bytes:
    """Binds a ciphertext to its event's aggregate and field: it cannot be moved elsewhere."""
    return f"fiscaflow:pii:{originator_id}:{field}".encode()


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"pii", "nonce", "data"}


K = TypeVar("K")
V = TypeVar("V")


class _Cache(Generic[K, V]):
    """Values kept ``ttl`` seconds, thread-safe."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self.ttl, self.clock = ttl, clock
        self._lock = threading.Lock()
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K, load: Callable[[K], V]) -> V:
        now = self.clock()
        with self._lock:
            cached = self._items.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        value = load(key)
        with self._lock:
            if len(self._items) > 10_000:  # bounded: drop whatever expired
                self._items = {k: v for k, v in self._items.items() if v[0] > now}
            self._items[key] = (now + self.ttl, value)
        return value

    def drop(self, keep: Callable[[K, V], bool]) -> None:
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if keep(k, v[1])}


class PersonalDataMapper(Mapper[UUID]):
    """Stores the personal fields of the events declared in PERSONAL encrypted with their
    subject's key (AES-256-GCM); reads them back in plain text, or as ERASED once the key is
    deleted. Fields of events stored before encryption existed are plain text: they read
    as ERASED once their subject is erased. An erased person's later events store ERASED.

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
        self.keys = keys
        self._writing: _Cache[UUID, tuple[UUID, bytes] | None] = _Cache(ttl, clock)
        self._reading: _Cache[UUID, tuple[bytes, UUID] | None] = _Cache(ttl, clock)
        self._erased: _Cache[UUID, bool] = _Cache(ttl, clock)

    def forget(self, subjects: list[UUID]) -> None:
        """Drop what is held in memory about these subjects (after erasing them)."""
        gone = set(subjects)
        self._writing.drop(lambda subject, _: subject not in gone)
        self._reading.drop(lambda _, found: found is not None and found[1] not in gone)
        self._erased.drop(lambda subject, _: subject not in gone)

    def _plain_erased(self, personal: Personal, state: Mapping[str, Any]) -> bool:
        return self.keys is not None and self._erased.get(personal.subject(state), self.keys.erased)

    def _reading_key(self, key_id: UUID) -> bytes | None:
        if self.keys is None:
            return None
        found = self._reading.get(key_id, self.keys.reading_key)
        return found[0] if found is not None else None

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        personal = PERSONAL.get(get_topic(type(domain_event)))
        if personal is None:
            return super().to_stored_event(domain_event)
        if self.keys is None:
            raise RuntimeError("personal data is stored only by a mapper with keys")
        state = dict(vars(domain_event))
        found = self._writing.get(personal.subject(state), self.keys.writing_key)
        for field in personal.fields:
            if not isinstance(state.get(field), str):
                continue
            if found is None:  # an erased person: nothing of theirs is stored again
                state[field] = ERASED
                continue
            key_id, key = found
            nonce = os.urandom(12)
            sealed = AESGCM(key).encrypt(nonce, state[field].encode(), _aad(state["originator_id"], field))
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
                value: Any = state.get(field)
                if is_sealed(value):
                    state[field] = self._unseal(stored_event.originator_id, field, value)
                elif isinstance(value, str) and value != ERASED and self._plain_erased(personal, state):
                    state[field] = ERASED  # stored in plain text before sealing existed
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
