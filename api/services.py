"""Everything a request handler needs, built once at start-up and closed on shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from commands.accounts import AccountCommands
from commands.application import Ledger, event_store_env
from commands.transactions import TransactionCommands
from ops.settings import Settings
from projections.registry import PROJECTIONS
from projections.runner import ProjectionRunner
from projections.supervisor import Supervisor
from queries.db import ReadStore


@dataclass
class Services:
    settings: Settings
    ledger: Ledger
    accounts: AccountCommands
    transactions: TransactionCommands
    reads: ReadStore
    projectors: Supervisor | None

    @classmethod
    def start(cls, settings: Settings, conninfo: str) -> Services:
        ledger = Ledger(
            event_store_env(
                conninfo,
                pool_size=settings.db_pool_size,
                lock_timeout=settings.lock_timeout,
                snapshot_interval=settings.snapshot_interval,
                cache_size=settings.aggregate_cache,
            )
        )
        for projection in PROJECTIONS.values():  # create read-model schemas before serving
            ProjectionRunner(projection, conninfo).close()
        reads = ReadStore(conninfo, settings.db_pool_size)
        reads.open()
        projectors = None
        if settings.run_projectors:
            projectors = Supervisor(conninfo, list(PROJECTIONS))
            projectors.start()
        return cls(settings, ledger, AccountCommands(ledger), TransactionCommands(ledger), reads, projectors)

    def close(self) -> None:
        if self.projectors is not None:
            self.projectors.stop()
        self.reads.close()
        self.ledger.close()
