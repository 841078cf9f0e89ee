"""The Transaction aggregate: balanced postings, descriptive fields, and a status lifecycle."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import IllegalTransitionError, InvalidInputError
from ledger.posting import EntryKind, Posting, check_balanced, entry_kind, recategorised
from ledger.text import check_text as printable

MAX_TEXT = 500
MAX_NOTES = 5000
MAX_TAGS = 50
EDITABLE_FIELDS = frozenset({"description", "merchant", "date", "tags", "notes"})


class Status(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    CANCELLED = "cancelled"
    DISPUTED = "disputed"


# The only legal moves; anything else raises IllegalTransitionError.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.POSTED, Status.CANCELLED}),
    Status.POSTED: frozenset({Status.CANCELLED, Status.DISPUTED}),
    Status.DISPUTED: frozenset({Status.POSTED, Status.CANCELLED}),
    Status.CANCELLED: frozenset(),
}


def check_text(name: str, value: str | None, limit: int = MAX_TEXT) -> str | None:
    return printable(name, value, limit, multiline=name == "notes")


def check_tags(tags: object) -> list[str]:
    """At most 50 tags, each 1 to 50 characters once trimmed; returned sorted and unique."""
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidInputError("tags are a list of strings")
    trimmed = {printable("tag", t.strip(), 200) or "" for t in tags}
    if len(trimmed) > MAX_TAGS or any(not t or len(t) > 50 for t in trimmed):
        raise InvalidInputError(f"at most {MAX_TAGS} tags, each 1 to 50 characters")
    return sorted(trimmed)


def check_category(category: str | None) -> str | None:
    """A category names a nominal account: 1 to 100 characters, no colon."""
    if category is None:
        return None
    trimmed = printable("category", category.strip(), 200) or ""
    if not trimmed or len(trimmed) > 100 or ":" in trimmed:
        raise InvalidInputError("a category has 1 to 100 characters and no colon")
    return trimmed


def check_edit(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate an edit of descriptive fields; amounts and accounts are not editable."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInputError(f"fields not editable: {sorted(unknown)}")
    if not changes:
        raise InvalidInputError("nothing to change")
    checked = dict(changes)
    for name in ("description", "merchant"):
        if name in checked:
            if name == "description" and not isinstance(checked[name], str):
                raise InvalidInputError("description must be text")
            if checked[name] is not None and not isinstance(checked[name], str):
                raise InvalidInputError(f"{name} must be text")
            check_text(name, checked[name])
    if "notes" in checked:
        if checked["notes"] is not None and not isinstance(checked["notes"], str):
            raise InvalidInputError("notes must be text")
        check_text("notes", checked["notes"], MAX_NOTES)
    if "tags" in checked:
        checked["tags"] = check_tags(checked["tags"])
    if "date" in checked and not isinstance(checked["date"], date):
        raise InvalidInputError("date must be a calendar date")
    return checked


class Transaction(Aggregate):
    """A financial event of a household, recorded as balanced double-entry postings."""

    @classmethod
    def record(
        cls,
        household_id: UUID,
        kind: EntryKind,
        postings: tuple[Posting, ...],
        on: date,
        description: str,
        *,
        merchant: str | None = None,
        category: str | None = None,
        tags: list[str] | None = None,
        notes: str | None = None,
        status: Status = Status.POSTED,
    ) -> Transaction:
        check_balanced(postings)
        category = check_category(category)
        if status not in (Status.PENDING, Status.POSTED):
            raise InvalidInputError("a new transaction is pending or posted")
        check_text("description", description)
        check_text("merchant", merchant)
        check_text("notes", notes, MAX_NOTES)
        return cls(
            household_id=household_id,
            kind=entry_kind(kind),
            postings=list(postings),
            date=on,
            description=description,
            merchant=merchant,
            category=category,
            tags=check_tags(tags or []),
            notes=notes,
            status=Status(status),
        )

    @event("Recorded")
    def __init__(
        self,
        household_id: UUID,
        kind: EntryKind,
        postings: list[Posting],
        date: date,
        description: str,
        merchant: str | None,
        category: str | None,
        tags: list[str],
        notes: str | None,
        status: Status,
    ) -> None:
        self.household_id = household_id
        self.kind = EntryKind(kind)
        self.postings = tuple(postings)
        self.date = date
        self.description = description
        self.merchant = merchant
        self.category = category
        self.tags = list(tags)
        self.notes = notes
        self.status = Status(status)
        self.reconciled_by: UUID | None = None  # the bank statement that confirmed it

    def edit(self, changes: dict[str, Any]) -> None:
        self.check_not_cancelled()
        if "date" in changes:
            self.check_not_reconciled("change its date")
        self._edited(check_edit(changes))

    @event("Edited")
    def _edited(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    def recategorise(self, category: str) -> None:
        self.check_not_cancelled()
        checked = check_category(category)
        assert checked is not None  # a str in gives a str out
        category = checked
        postings = self.postings
        if self.kind is not EntryKind.TRANSFER:
            postings = recategorised(self.postings, self.kind, category)
        self._recategorised(category, list(postings))

    @event("Recategorised")
    def _recategorised(self, category: str, postings: list[Posting]) -> None:
        self.category = category
        self.postings = tuple(postings)

    def post(self) -> None:
        self.check_transition(Status.POSTED)
        self._posted()

    @event("Posted")
    def _posted(self) -> None:
        self.status = Status.POSTED

    def dispute(self, reason: str) -> None:
        self.check_transition(Status.DISPUTED)
        self.check_not_reconciled("be disputed")
        self._disputed(check_text("reason", reason) or "")

    @event("Disputed")
    def _disputed(self, reason: str) -> None:
        self.status = Status.DISPUTED

    def cancel(self, reason: str) -> None:
        self.check_transition(Status.CANCELLED)
        self.check_not_reconciled("be cancelled")
        self._cancelled(check_text("reason", reason) or "")

    @event("Cancelled")
    def _cancelled(self, reason: str) -> None:
        self.status = Status.CANCELLED

    def reconcile(self, statement_id: UUID) -> None:
        """Confirmed by a bank statement: it must be posted and not reconciled already."""
        if self.status is not Status.POSTED:
            raise IllegalTransitionError(f"a {self.status} transaction cannot be reconciled")
        if self.reconciled_by is not None:
            raise IllegalTransitionError("the transaction is reconciled already")
        self._reconciled(statement_id)

    @event("Reconciled")
    def _reconciled(self, statement_id: UUID) -> None:
        self.reconciled_by = statement_id

    def check_not_reconciled(self, what: str) -> None:
        if self.reconciled_by is not None:
            raise IllegalTransitionError(f"a reconciled transaction cannot {what}: the bank confirmed it")

    def check_transition(self, to: Status) -> None:
        if to not in TRANSITIONS[self.status]:
            raise IllegalTransitionError(f"a {self.status} transaction cannot become {to}")

    def check_not_cancelled(self) -> None:
        if self.status is Status.CANCELLED:
            raise IllegalTransitionError("a cancelled transaction cannot be changed")

    def household_account_postings(self) -> list[tuple[UUID, Posting]]:
        """The postings that hit the household's own accounts, with their account ids."""
        found = []
        for posting in self.postings:
            account_id = posting.household_account_id()
            if account_id is not None:
                found.append((account_id, posting))
        return found
