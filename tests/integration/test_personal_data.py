"""Personal data in events is encrypted per subject with keys in PostgreSQL (keyvault), and
reads as erased once the keys are deleted: the mapper and the key ring against the real
database, without the HTTP layer (tests/e2e/test_erasure.py does it end to end)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from psycopg_pool import ConnectionPool

from commands.personal_data import KeyRing
from ledger.household import Household
from ledger.personal import ERASED, PersonalDataMapper, email_subject
from ledger.transcodings import event_mapper
from ledger.user import User
from projections.keys import over

pytestmark = pytest.mark.integration


@pytest.fixture
def keys(database: str) -> Iterator[KeyRing]:
    with ConnectionPool(database, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        ring = KeyRing(pool)
        ring.create_schema()
        yield ring


def writer(keys: KeyRing) -> PersonalDataMapper:
    mapper = event_mapper(keys)
    assert isinstance(mapper, PersonalDataMapper)
    return mapper


def registered(email: str = "ana@example.org", name: str = "Ana Canary") -> tuple[User, Any]:
    user = User.register(email, name, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
    return user, user.collect_events()[0]


@pytest.mark.reliability
def test_personal_fields_are_ciphertext_in_the_store_and_plain_when_read(
    keys: KeyRing, database: str
) -> None:
    _, event = registered()
    stored = writer(keys).to_stored_event(event)
    assert b"ana@example.org" not in stored.state and b"Ana Canary" not in stored.state
    assert b"argon2id" not in stored.state
    state = json.loads(stored.state)
    assert set(state["email"]) == {"pii", "nonce", "data"}
    assert state["role"] == "user"  # only the declared fields are sealed
    with psycopg.connect(database, autocommit=True) as conn:
        read = event_mapper(over(conn)).to_domain_event(stored)
    assert (read.email, read.display_name) == ("ana@example.org", "Ana Canary")  # type: ignore[attr-defined]


@pytest.mark.reliability
def test_erasing_the_subject_masks_only_its_fields(keys: KeyRing, database: str) -> None:
    ana, ana_event = registered("ana@example.org", "Ana")
    bob, bob_event = registered("bob@example.org", "Bob")
    household = Household.create("Home", ana.id)
    household.invite(uuid.uuid4(), "bob@example.org", "family_member", ana.id)
    invited = household.collect_events()[1]
    mapper = writer(keys)
    stored = [mapper.to_stored_event(e) for e in (ana_event, bob_event, invited)]
    assert keys.erase([bob.id], [email_subject("bob@example.org")]) == 2
    with psycopg.connect(database, autocommit=True) as conn:
        fresh = event_mapper(over(conn))  # another process: nothing cached
        ana_read, bob_read, invited_read = (fresh.to_domain_event(s) for s in stored)
    assert (ana_read.email, ana_read.display_name) == ("ana@example.org", "Ana")  # type: ignore[attr-defined]
    assert (bob_read.email, bob_read.display_name, bob_read.password_hash) == (ERASED,) * 3  # type: ignore[attr-defined]
    assert invited_read.email == ERASED  # type: ignore[attr-defined]
    assert bob_read.role == "user" and bob_read.originator_id == bob.id  # type: ignore[attr-defined]


@pytest.mark.reliability
def test_the_writer_forgets_erased_keys_at_once(keys: KeyRing) -> None:
    user, event = registered()
    mapper = writer(keys)
    stored = mapper.to_stored_event(event)
    assert mapper.to_domain_event(stored).email == "ana@example.org"  # type: ignore[attr-defined]
    keys.erase([user.id], [])
    mapper.forget([user.id])
    assert mapper.to_domain_event(stored).email == ERASED  # type: ignore[attr-defined]


def test_reading_the_erased_event_drops_the_cached_keys(keys: KeyRing, database: str) -> None:
    user, event = registered()
    stored = writer(keys).to_stored_event(event)
    with psycopg.connect(database, autocommit=True) as conn:
        reader = event_mapper(over(conn))
        assert reader.to_domain_event(stored).email == "ana@example.org"  # type: ignore[attr-defined]
        user.delete(user.id)
        user.erase(user.id, [user.id])
        erased = [reader.to_stored_event(e) for e in user.collect_events() if type(e).__name__ == "Erased"]
        keys.erase([user.id], [])
        reader.to_domain_event(erased[0])  # as a projector reads it, in order
        assert reader.to_domain_event(stored).email == ERASED  # type: ignore[attr-defined]


def test_a_tampered_or_moved_ciphertext_fails_loudly(keys: KeyRing) -> None:
    _, ana_event = registered("ana@example.org", "Ana")
    _, bob_event = registered("bob@example.org", "Bob")
    mapper = writer(keys)
    ana, bob = mapper.to_stored_event(ana_event), mapper.to_stored_event(bob_event)
    state = json.loads(ana.state)
    state["display_name"]["data"] = state["display_name"]["data"][:-4] + "AAA="
    tampered = StoredEvent(ana.originator_id, ana.originator_version, ana.topic, json.dumps(state).encode())
    with pytest.raises(ValueError, match="fails authentication"):
        mapper.to_domain_event(tampered)
    moved = StoredEvent(
        bob.originator_id, bob.originator_version, bob.topic, ana.state
    )  # Ana's fields on Bob
    with pytest.raises(ValueError, match="fails authentication"):
        mapper.to_domain_event(moved)


def test_without_keys_personal_fields_read_as_erased_and_are_never_stored(keys: KeyRing) -> None:
    _, event = registered()
    stored = writer(keys).to_stored_event(event)
    keyless = event_mapper()
    assert keyless.to_domain_event(stored).email == ERASED  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="only by a mapper with keys"):
        keyless.to_stored_event(event)


def test_events_stored_before_encryption_keep_their_plain_fields_until_erased(keys: KeyRing) -> None:
    user, event = registered()
    plain_state = {k: v for k, v in vars(event).items() if k not in ("originator_id", "originator_version")}
    legacy = StoredEvent(
        event.originator_id, 1, "ledger.user:User.Registered",
        writer(keys).transcoder.encode(plain_state),
    )  # fmt: skip
    assert b"ana@example.org" in legacy.state
    assert writer(keys).to_domain_event(legacy).email == "ana@example.org"  # type: ignore[attr-defined]
    keys.erase([user.id], [])
    read = writer(keys).to_domain_event(legacy)
    assert (read.email, read.display_name, read.role) == (ERASED, ERASED, "user")  # type: ignore[attr-defined]


def test_an_erased_person_never_gets_a_key_again_but_an_address_may(keys: KeyRing, database: str) -> None:
    user, _ = registered()
    mapper = writer(keys)
    user.collect_events()
    user.record_login("Firefox on a laptop")  # e.g. a login that was under way during the erasure
    (login,) = user.collect_events()
    keys.erase([user.id], [email_subject("ana@example.org")])
    stored = mapper.to_stored_event(login)
    assert json.loads(stored.state)["client"] == ERASED and b"Firefox" not in stored.state
    with psycopg.connect(database) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM keyvault.subject_keys WHERE subject_id = %s", (user.id,)
        ).fetchone()  # type: ignore[misc]
    assert count == 0
    assert keys.writing_key(email_subject("ana@example.org")) is not None  # a new owner's invitation
