"""How big each workload is: the issue's sizes, small ones for CI smoke runs (``--quick``),
and any of them overridden from the command line."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Sizes:
    clients: int = 32  # concurrent HTTP clients
    seconds: float = 10.0  # each timed HTTP run, and the sustained load of the lag run
    append_transactions: int = 20_000  # recorded through the application (2 events each)
    catch_up_events: int = 200_000
    rebuild_events: int = 1_000_000
    account_events: int = 10_000  # events of the one account loaded with/without snapshots
    loads: int = 7  # account loads per variant (the median is reported)
    transactions: int = 100_000  # in the household whose list and dashboard are timed
    requests: int = 200  # sequential requests per timed query

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            clients=8,
            seconds=2.0,
            append_transactions=1_000,
            catch_up_events=5_000,
            rebuild_events=20_000,
            account_events=1_000,
            loads=3,
            transactions=1_000,
            requests=30,
        )

    def overridden(self, **given: Any) -> Sizes:
        """These sizes with every option that was given (not None) instead."""
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in given.items() if k in names and v is not None})

    def as_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
