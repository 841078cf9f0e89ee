"""Everything a request handler needs, built once at start-up and closed on shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from elasticsearch import Elasticsearch
from psycopg_pool import ConnectionPool

from commands.accounts import AccountCommands
from commands.alerts import relay_alerts
from commands.application import Ledger, event_store_env
from commands.audit import checkpoint
from commands.budgets import BudgetCommands
from commands.categorisation import CategoryCommands, LearnedCategoriser
from commands.deliveries import Sender
from commands.files import BlobStore, FolderStore, S3Store
from commands.goals import GoalCommands
from commands.holds import hold_sweep
from commands.households import HouseholdCommands
from commands.idempotency import IdempotencyStore
from commands.imports import Imports
from commands.monitors import MonitorCommands
from commands.notifications import NotificationCommands
from commands.periodic import Periodic
from commands.periods import PeriodCommands
from commands.personal_tokens import PersonalTokens
from commands.reconciliation import Reconciliations
from commands.schedules import ScheduleCommands, run_schedules
from commands.settlement import SettlementCommands
from commands.tokens import TokenService
from commands.transactions import TransactionCommands
from commands.users import UserCommands
from ops.settings import Settings
from projections.rebuild import prepare
from projections.registry import PROJECTIONS
from projections.relay.publisher import Relay, RelayThread
from projections.search_index import SearchIndexer
from projections.supervisor import Supervisor
from queries.db import ReadStore
from queries.search import PostgresSearch, Search
from queries.search_es import ElasticsearchSearch

log = logging.getLogger("fiscaflow.services")


@dataclass
class Services:
    settings: Settings
    ledger: Ledger
    accounts: AccountCommands
    transactions: TransactionCommands
    categories: CategoryCommands
    budgets: BudgetCommands
    goals: GoalCommands
    settlement: SettlementCommands
    categoriser: LearnedCategoriser
    imports: Imports
    blobs: BlobStore
    users: UserCommands
    households: HouseholdCommands
    tokens: TokenService
    idempotency: IdempotencyStore
    reconciliations: Reconciliations
    periods: PeriodCommands
    personal_tokens: PersonalTokens
    reads: ReadStore
    auth_pool: ConnectionPool[Any]
    projectors: Supervisor | None
    schedules: ScheduleCommands
    monitors: MonitorCommands
    notifications: NotificationCommands
    workers: list[Periodic]
    relay: RelayThread | None
    search: Search

    @classmethod
    def start(cls, settings: Settings, conninfo: str) -> Services:
        if settings.jwt_secret is None:
            raise ValueError("Services need a JWT secret (ops gives one in development)")
        ledger = Ledger(
            event_store_env(
                conninfo,
                pool_size=settings.db_pool_size,
                lock_timeout=settings.lock_timeout,
                snapshot_interval=settings.snapshot_interval,
                cache_size=settings.aggregate_cache,
            )
        )
        for projection in PROJECTIONS.values():  # create or upgrade read models before serving
            if prepare(projection, conninfo):
                log.warning(
                    "read model %s rebuilt for schema version %s", projection.name, projection.schema_version
                )
        reads = ReadStore(conninfo, settings.db_pool_size)
        reads.open()
        categoriser = LearnedCategoriser(reads, settings.categoriser_threshold)
        auth_pool: ConnectionPool[Any] = ConnectionPool(
            conninfo, min_size=1, max_size=4, open=True, timeout=5.0
        )
        tokens = TokenService(settings.jwt_secret, auth_pool)
        tokens.create_schema()
        projectors = None
        if settings.run_projectors:
            projectors = Supervisor(conninfo, list(PROJECTIONS))
            projectors.start()
        transactions = TransactionCommands(ledger, categoriser=categoriser)
        schedules = ScheduleCommands(ledger, transactions, reads)
        search: Search = PostgresSearch(reads)
        client = None
        if settings.elasticsearch_url:
            client = Elasticsearch(settings.elasticsearch_url, request_timeout=5)
            search = ElasticsearchSearch(client, reads)
        workers: list[Periodic] = []
        relay = None
        if settings.run_workers:  # holds, alerts, schedules, deliveries, checkpoints, the relay
            workers = periodic_work(settings, ledger, transactions, schedules, reads, auth_pool)
            workers.append(Periodic("audit-checkpoint", partial(checkpoint, conninfo), 5.0))
            if client is not None:
                workers.append(Periodic("search-indexer", SearchIndexer(conninfo, client).run_once, 1.0))
            for worker in workers:
                worker.start()
            relay = RelayThread(Relay(conninfo, settings.rabbitmq_url or "memory://"))
            relay.start()
        return cls(
            settings=settings,
            ledger=ledger,
            accounts=AccountCommands(ledger),
            transactions=transactions,
            categories=CategoryCommands(ledger, reads),
            budgets=BudgetCommands(ledger),
            goals=GoalCommands(ledger),
            settlement=SettlementCommands(ledger),
            categoriser=categoriser,
            imports=Imports(ledger, reads, categoriser),
            blobs=blob_store(settings),
            users=UserCommands(ledger, tokens),
            households=HouseholdCommands(ledger, tokens),
            tokens=tokens,
            idempotency=IdempotencyStore(auth_pool),
            reconciliations=Reconciliations(ledger),
            periods=PeriodCommands(ledger, conninfo),
            personal_tokens=PersonalTokens(tokens),
            reads=reads,
            auth_pool=auth_pool,
            projectors=projectors,
            schedules=schedules,
            monitors=MonitorCommands(ledger),
            notifications=NotificationCommands(ledger, auth_pool, reads),
            workers=workers,
            relay=relay,
            search=search,
        )

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        if self.relay is not None:
            self.relay.stop()
        if self.projectors is not None:
            self.projectors.stop()
        self.reads.close()
        self.auth_pool.close()
        self.ledger.close()


def periodic_work(
    settings: Settings,
    ledger: Ledger,
    transactions: TransactionCommands,
    schedules: ScheduleCommands,
    reads: ReadStore,
    auth_pool: ConnectionPool[Any],
) -> list[Periodic]:
    """Expire holds, relay alerts, run schedules, send notifications (not yet started)."""
    return [
        Periodic("hold-sweeper", hold_sweep(transactions, reads), 60.0),
        Periodic("alert-relay", lambda: relay_alerts(ledger), 1.0),
        Periodic("schedule-runner", run_schedules(schedules), settings.schedule_interval),
        Periodic("notification-sender", Sender(settings, auth_pool).round, settings.delivery_interval),
    ]


def blob_store(settings: Settings) -> BlobStore:
    """S3 when S3_ENDPOINT is set; otherwise a folder under FISCAFLOW_HOME."""
    if settings.s3_endpoint:
        assert settings.s3_access_key  # Settings.check() made sure of both
        assert settings.s3_secret_key
        return S3Store(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_bucket,
            settings.s3_region,
        )
    return FolderStore(settings.home / "files")
