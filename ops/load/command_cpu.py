"""CPU per recorded transaction in this process, without HTTP: the command handler alone
(`TransactionCommands.record`, an income of 1.00 to 64 accounts in turn, with the aggregate
cache and snapshots as `fiscaflow serve` has them), from 1 and from several threads (run
from the repository root):

    python -m ops.load.command_cpu [COMMANDS] [THREADS ...]

It uses the local PostgreSQL of the tests (FISCAFLOW_TEST_DATABASE_URL). Compare it with
``ops.load.asgi_cpu`` (the same command through the Litestar app) to see what the API adds."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
import uuid

from commands.messages import RecordTransaction
from ops.bench.seed import Household
from ops.settings import Settings
from tests.conftest import create_database, drop_database

ACCOUNTS = 64


def income(account: uuid.UUID) -> RecordTransaction:
    return RecordTransaction(
        kind="income", account_id=account, amount="1.00", date=dt.date(2026, 11, 1), description="bench"
    )


def cpu_per_command(commands: int, threads: int) -> tuple[float, float]:
    """Microseconds of this process's CPU per command, and commands per second."""
    database = create_database()
    defaults = Settings()
    household = Household(
        database, snapshot_interval=defaults.snapshot_interval, cache_size=defaults.aggregate_cache
    )
    try:
        accounts = household.open(ACCOUNTS)
        for n in range(ACCOUNTS * 4):  # every account cached and past its first events
            household.transactions.record(household.id, income(accounts[n % ACCOUNTS]))

        def work(first: int) -> None:
            for n in range(first, commands, threads):
                household.transactions.record(household.id, income(accounts[n % ACCOUNTS]))

        workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        cpu, wall = time.process_time(), time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return cpu / commands * 1e6, commands / wall
    finally:
        household.close()
        drop_database(database)


def main() -> None:
    commands = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    for threads in [int(t) for t in sys.argv[2:]] or [1, 16]:
        cpu, rate = cpu_per_command(commands, threads)
        print(f"{threads:>2} thread(s): {cpu:,.0f} us of CPU per command, {rate:,.0f} commands/s")


if __name__ == "__main__":
    main()
