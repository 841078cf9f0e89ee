"""The event-sourced application that stores every aggregate of the ledger."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from copy import deepcopy
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent, Recording, Repository
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import ApplicationRecorder, JSONTranscoder, Mapper, PersistenceError
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType, strtobool
from psycopg.conninfo import conninfo_to_dict
from psycopg.sql import SQL, Identifier

from commands.personal_data import KeyRing
from ledger.account import Account
from ledger.personal import PersonalDataMapper
from ledger.transcodings import register_all

log = logging.getLogger(__name__)
EVENT_STORE_SCHEMA = "eventstore"
APPLICATION_NAME = "FiscaFlow"  # the events table is "fiscaflow_events": never rename


def event_store_env(
    conninfo: str,
    *,
    pool_size: int = 5,
    lock_timeout: int = 5,
    snapshot_interval: int = 0,
    cache_size: int = 0,
    create_tables: bool = True,
) -> dict[str, str]:
    """The explicit eventsourcing settings for a database given as a libpq conninfo or URL
    (``create_tables=False`` for a role that may only read and append)."""
    params = conninfo_to_dict(conninfo)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "commands.recorder:LedgerRecorder",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_SCHEMA": EVENT_STORE_SCHEMA,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_LOCK_TIMEOUT": str(lock_timeout),
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_PRE_PING": "n",  # a round trip per checkout; dropped connections are retried
        "CREATE_TABLE": "y" if create_tables else "n",
        "IS_SNAPSHOTTING_ENABLED": "y" if snapshot_interval > 0 else "n",
        "FISCAFLOW_SNAPSHOT_INTERVAL": str(snapshot_interval),
        # A cached aggregate is always fast-forwarded with the newer events from the store
        # before use, so the cache stays correct with several processes writing.
        **({"AGGREGATE_CACHE_MAXSIZE": str(cache_size)} if cache_size > 0 else {}),
    }


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """eventsourcing's ``project_aggregate`` without its check of each event against a
    runtime-checkable Protocol, which Python 3.11 answers by walking the protocol's members:
    that check was 12 % of a bulk append's CPU (loading accounts, taking snapshots)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def collect(processing_event: ProcessingEvent[UUID], objs: Iterable[Any], kwargs: dict[str, Any]) -> None:
    """``ProcessingEvent.collect_events`` without its two checks of each object against
    runtime-checkable Protocols (4 % of a bulk append's CPU on Python 3.11) when the object
    is one of our aggregates; anything else goes through the library's own."""
    for obj in objs:
        if isinstance(obj, BaseAggregate):
            processing_event.events.extend(obj.collect_events())
            processing_event.aggregates[obj.id] = obj
        elif obj is not None:
            processing_event.collect_events(obj)
    processing_event.saved_kwargs.update(kwargs)


class LedgerRepository(Repository[UUID]):
    """The library's repository, replaying with :func:`replay` unless told otherwise."""

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: Any = replay,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        return super().get(
            aggregate_id,
            version=version,
            projector_func=projector_func,
            fastforward_skipping=fastforward_skipping,
            deepcopy_from_cache=deepcopy_from_cache,
        )


class Ledger(Application[UUID]):
    """Accounts and transactions (and later users, budgets) in one ordered event store."""

    name = APPLICATION_NAME

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        interval = int(self.env.get("FISCAFLOW_SNAPSHOT_INTERVAL") or 0)
        if interval > 0:
            # Only long-lived aggregates: an account collects one event per posting.
            self.snapshot_every = {Account: interval}
            self.snapshotting_projectors = {Account: replay}  # take_snapshot by hand (ops)

    snapshot_every: ClassVar[dict[type[Any], int]] = {}  # aggregate type -> interval

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's save (its steps, with :func:`collect`); then a snapshot of each
        aggregate of ``snapshot_every`` whose version passed a multiple of its interval, taken
        from the saved aggregate itself (its state is the recorded one now). The library's
        own snapshotting (left off) reads the aggregate back from the store at the multiple:
        9 % of a bulk append."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        collect(processing_event, objs, kwargs)
        recordings = self._record(processing_event)
        self._refresh_cache(processing_event.aggregates.values())
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, as its save does
        if self.snapshot_every and self.snapshots is not None and recordings:
            first: dict[UUID, int] = {}
            for recording in recordings:
                event = recording.domain_event
                first.setdefault(event.originator_id, event.originator_version)
            saved = {obj.id: obj for obj in objs if type(obj) in self.snapshot_every}
            for aggregate_id, obj in saved.items():
                interval, since = self.snapshot_every[type(obj)], first.get(aggregate_id)
                if since is not None and obj.version // interval > (since - 1) // interval:
                    self._snapshot(obj)
        return recordings

    def _refresh_cache(self, saved: Iterable[Any]) -> None:
        """Put a copy of each saved aggregate that the cache holds at an older version in its
        place. Otherwise the cache keeps the version this process loaded, and the next load
        reads back and replays the events this process has just written (a bulk append
        replayed about 12 events per account per append: more than a tenth of its CPU).
        A copy, because the caller keeps the saved object and may change it again without
        saving. The next load still fast-forwards with what other processes appended; a
        slower thread putting an older copy back only costs that replay."""
        cache = self.repository.cache
        if cache is None or not self.repository.fastforward:
            return  # without fast-forward the library's own _record puts what it saved
        for aggregate in saved:
            try:
                cached = cache.get(aggregate.id)
            except KeyError:
                continue  # not cached: the next load reads it whole, as before
            if cached is not None and cached.version < aggregate.version:
                cache.put(aggregate.id, deepcopy(aggregate))

    def _snapshot(self, aggregate: Any) -> None:
        """A snapshot is only a shortcut: failing to store one must not fail the command
        whose events are stored already (the next multiple of the interval tries again)."""
        snapshot_class = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
        assert self.snapshots is not None
        try:
            self.snapshots.put([snapshot_class.take(aggregate)])
        except PersistenceError as error:
            log.warning("snapshot of %s at version %s not stored: %s", aggregate.id, aggregate.version, error)

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository (the same settings), as a :class:`LedgerRepository`."""
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return LedgerRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(maxsize) if maxsize else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Unlike the library default, never read os.environ: settings are explicit.
        values: dict[str, Any] = dict(type(self).env)
        values.update(env or {})
        return Environment(name, values)

    def construct_mapper(self) -> Mapper[UUID]:
        """Personal data in events is encrypted with its subject's key (crypto-shredding)."""
        factory = self.factory
        assert isinstance(factory, PostgresFactory)
        self.keys = KeyRing(factory.datastore.pool)
        return PersonalDataMapper(self.construct_transcoder(), self.keys)

    def construct_recorder(self) -> ApplicationRecorder:
        factory = self.factory
        assert isinstance(factory, PostgresFactory)
        if factory.env_create_table():  # an append-only role has the schema made for it
            with factory.datastore.transaction(commit=True) as curs:
                curs.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(EVENT_STORE_SCHEMA)))
            self.keys.create_schema()
        return super().construct_recorder()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        register_all(transcoder)
