"""An import batch: one statement file brought into one account, in chunks, with its report.

The batch records which transactions each chunk added and which existing transactions it
matched as the other side of a transfer, so that the whole import can be undone by
compensating events (nothing is deleted).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import IllegalTransitionError


class ImportBatch(Aggregate):
    @classmethod
    def start(
        cls, batch_id: UUID, household_id: UUID, account_id: UUID, source: dict[str, Any]
    ) -> ImportBatch:
        return cls._create(
            cls.Started,  # type: ignore[attr-defined]
            id=batch_id,
            household_id=household_id,
            account_id=account_id,
            source=source,
        )

    @event("Started")
    def __init__(self, household_id: UUID, account_id: UUID, source: dict[str, Any]) -> None:
        self.household_id = household_id
        self.account_id = account_id
        self.source = source  # format, file name, sha256, lines
        self.added = 0  # how many transactions it added (their ids are in its ChunkImported events)
        self.matched: list[list[UUID]] = []  # existing transactions turned into transfers
        self.settled: list[list[UUID]] = []  # pending transactions the import posted
        self.report: dict[str, Any] | None = None
        self.reverted = False

    def chunk(
        self, added: list[UUID], matched: list[list[UUID]], settled: list[list[UUID]] | None = None
    ) -> None:
        """``matched``: [existing transaction, the line's MatchedLine] pairs of transfers;
        ``settled``: the same pairs for pending transactions the lines posted."""
        self.check_not_reverted()
        self._chunk_imported(added, matched)
        if settled:
            self._pending_settled(settled)

    @event("PendingSettled")
    def _pending_settled(self, settled: list[list[UUID]]) -> None:
        self.settled.extend([UUID(str(a)), UUID(str(b))] for a, b in settled)

    @event("ChunkImported")
    def _chunk_imported(self, added: list[UUID], matched: list[list[UUID]]) -> None:
        self.added += len(added)
        self.matched.extend([UUID(str(a)), UUID(str(b))] for a, b in matched)

    def complete(self, report: dict[str, Any]) -> None:
        self.check_not_reverted()
        if self.report is not None:
            raise IllegalTransitionError("the import is complete already")
        self._completed(report)

    @event("Completed")
    def _completed(self, report: dict[str, Any]) -> None:
        self.report = report

    def revert(self, reason: str) -> None:
        self.check_not_reverted()
        self._reverted(reason)

    @event("Reverted")
    def _reverted(self, reason: str) -> None:
        self.reverted = True

    def check_not_reverted(self) -> None:
        if self.reverted:
            raise IllegalTransitionError("the import is undone already")


class MatchedLine(Aggregate):
    """A statement line that added no transaction of its own because it was the other side
    of an existing one (a transfer). Its id is the line's import id, so a re-import of the
    file finds it and adds nothing."""

    @classmethod
    def of(cls, line_id: UUID, batch_id: UUID, transaction_id: UUID) -> MatchedLine:
        return cls._create(
            cls.Matched,  # type: ignore[attr-defined]
            id=line_id,
            batch_id=batch_id,
            transaction_id=transaction_id,
        )

    @event("Matched")
    def __init__(self, batch_id: UUID, transaction_id: UUID) -> None:
        self.batch_id = batch_id
        self.transaction_id = transaction_id
        self.reverted = False

    def revert(self) -> None:
        if not self.reverted:
            self._reverted()

    @event("Reverted")
    def _reverted(self) -> None:
        self.reverted = True
