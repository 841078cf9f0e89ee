"""The household's books and their period closes: once a period is closed, its figures
(each account's balance and the event log's chain head) are fixed, and a change dated in
it needs an admin's recorded reason.

One ``Books`` aggregate per household; its id derives from the household's, so two
first closes of one household collide in the event store and exactly one wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.errors import IllegalTransitionError, InvalidInputError, OpenHoldsError, PeriodClosedError
from ledger.money import Money
from ledger.text import check_text

MAX_REASON = 500
CHAIN_HEAD = re.compile(r"^[0-9a-f]{64}$")


def books_id(household_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"fiscaflow:books:{household_id}")


def check_reason(reason: str) -> str:
    """A reason is printable text of 1 to 500 characters once trimmed."""
    trimmed = (check_text("reason", reason, MAX_REASON * 2) or "").strip()
    if not trimmed or len(trimmed) > MAX_REASON:
        raise InvalidInputError(f"a reason has 1 to {MAX_REASON} characters")
    return trimmed


@dataclass(frozen=True, slots=True)
class PeriodClose:
    """One close: the period up to ``through`` (inclusive), as its figures stood then."""

    through: date
    balances: dict[str, Money]  # account id -> balance of postings dated on or before ``through``
    chain_head: str  # hex digest of the event log's latest checkpoint when it closed
    closed_by: UUID | None


class Books(Aggregate):
    """The household's closes, in order; ``closed_through`` is the last one still in force."""

    @staticmethod
    def create_id(household_id: UUID) -> UUID:
        return books_id(household_id)

    @classmethod
    def open(cls, household_id: UUID) -> Books:
        return cls(household_id=household_id)

    @event("Opened")
    def __init__(self, household_id: UUID) -> None:
        self.household_id = household_id
        self.closes: list[PeriodClose] = []

    @property
    def closed_through(self) -> date | None:
        return self.closes[-1].through if self.closes else None

    def covers(self, day: date) -> bool:
        """Whether a day lies in a closed period."""
        return self.closed_through is not None and day <= self.closed_through

    def check_can_close(self, through: date) -> None:
        """Periods close in order: a close comes after the one before it."""
        if self.covers(through):
            raise PeriodClosedError(
                f"the books are closed through {self.closed_through}; close a later date",
                closed_through=str(self.closed_through),
            )

    def close(
        self,
        through: date,
        balances: dict[UUID, Money],
        chain_head: str,
        closed_by: UUID | None,
        pending: list[UUID],
    ) -> None:
        """Close the period up to ``through`` with the balances of every account on that day.
        Pending transactions in the period must be posted or voided first: their amounts
        are not final yet."""
        self.check_can_close(through)
        if not CHAIN_HEAD.match(chain_head):
            raise InvalidInputError("a chain head is a SHA-256 digest in lowercase hex")
        if pending:
            raise OpenHoldsError(
                f"{len(pending)} pending transactions dated on or before {through}; post or void them first",
                transactions=[str(t) for t in pending[:20]],
            )
        by_account = {str(account): money for account, money in sorted(balances.items(), key=str)}
        self._period_closed(self.household_id, through, by_account, chain_head, closed_by)

    @event("PeriodClosed")
    def _period_closed(
        self,
        household_id: UUID,
        through: date,
        balances: dict[str, Money],
        chain_head: str,
        closed_by: UUID | None,
    ) -> None:
        self.closes.append(PeriodClose(through, dict(balances), chain_head, closed_by))

    def reopen(self, reason: str, by: UUID) -> None:
        """Take back the latest close (an admin's decision, with its reason): the period
        before it is the closed one again."""
        if not self.closes:
            raise IllegalTransitionError("no period is closed")
        self._period_reopened(self.household_id, self.closes[-1].through, check_reason(reason), by)

    @event("PeriodReopened")
    def _period_reopened(self, household_id: UUID, through: date, reason: str, by: UUID) -> None:
        self.closes.pop()

    def override(self, transaction_id: UUID, on: date, reason: str, by: UUID) -> None:
        """Record that an admin changed a transaction dated in a closed period, and why."""
        if not self.covers(on):
            raise InvalidInputError(f"{on} is not in a closed period; no override is needed")
        self._closed_period_overridden(self.household_id, transaction_id, on, check_reason(reason), by)

    @event("ClosedPeriodOverridden")
    def _closed_period_overridden(
        self, household_id: UUID, transaction_id: UUID, on: date, reason: str, by: UUID
    ) -> None:
        pass  # the record is the event itself: it changes no state
