"""The Transaction aggregate: balanced postings, descriptive fields, and a status lifecycle."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import IllegalTransitionError, InvalidInputError, NotFoundError
from ledger.money import Money
from ledger.posting import (
    UNCATEGORISED,
    EntryKind,
    Posting,
    check_balanced,
    entry_kind,
    recategorised,
)
from ledger.text import check_text as printable

MAX_TEXT = 500
MAX_NOTES = 5000
MAX_TAGS = 50
MAX_RECEIPTS = 20
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
    """A category names a nominal account (and a URL path segment): 1 to 100 characters,
    no colon, no slash."""
    if category is None:
        return None
    trimmed = printable("category", category.strip(), 200) or ""
    if not trimmed or len(trimmed) > 100 or ":" in trimmed or "/" in trimmed:
        raise InvalidInputError("a category has 1 to 100 characters, no colon and no slash")
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
        id: UUID | None = None,  # a given id: imports derive theirs from the line
    ) -> Transaction:
        check_balanced(postings)
        category = check_category(category)
        if status not in (Status.PENDING, Status.POSTED):
            raise InvalidInputError("a new transaction is pending or posted")
        check_text("description", description)
        check_text("merchant", merchant)
        check_text("notes", notes, MAX_NOTES)
        fields: dict[str, Any] = {
            "household_id": household_id,
            "kind": entry_kind(kind),
            "postings": list(postings),
            "date": on,
            "description": description,
            "merchant": merchant,
            "category": category,
            "tags": check_tags(tags or []),
            "notes": notes,
            "status": Status(status),
        }
        if id is not None:
            return cls._create(cls.Recorded, id=id, **fields)  # type: ignore[attr-defined]
        return cls(**fields)

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
        # Who chose the category: manual (a person), rule, ml (the learned categoriser).
        self.categorization_source: str | None = "manual" if category else None
        self.confidence: float | None = 1.0 if category else None
        self.rule_runs: dict[str, dict[str, Any]] = {}  # run id -> changes the run made
        self.import_batch: UUID | None = None  # the import that brought it, if one did
        self.external_id: str | None = None
        self.matched_by: UUID | None = None  # the import batch that turned it into a transfer
        self.receipts: dict[str, dict[str, Any]] = {}  # sha256 -> name, content_type, size
        self.expires_at: datetime | None = None  # a pending transaction's hold runs out then
        self.settled_by: UUID | None = None  # the import that posted it, if one did
        self.before_settlement: dict[str, Any] | None = None
        self.original_amount: Money | None = None  # paid in a foreign currency: that amount
        self.rate: Decimal | None = None  # and the rate used (account currency per unit)
        self.before_match: dict[str, Any] | None = None

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
        self.categorization_source = "manual"
        self.confidence = 1.0

    def categorise_by_model(self, category: str, confidence: float) -> None:
        """The learned categoriser's choice, with its confidence (0 to 1)."""
        self.check_not_cancelled()
        checked = check_category(category) or ""
        if not 0.0 <= confidence <= 1.0:
            raise InvalidInputError("a confidence lies between 0 and 1")
        self._categorised(checked, list(self._postings_for(checked)), "ml", round(confidence, 4))

    @event("Categorised")
    def _categorised(self, category: str, postings: list[Posting], source: str, confidence: float) -> None:
        self.category = category
        self.postings = tuple(postings)
        self.categorization_source = source
        self.confidence = confidence

    def apply_rule(self, rule_id: UUID, run_id: UUID | None, changes: dict[str, Any]) -> None:
        """A rule's actions: ``changes`` maps category, tags or notes to [before, after]."""
        self.check_not_cancelled()
        if not changes or set(changes) - {"category", "tags", "notes"}:
            raise InvalidInputError("a rule changes category, tags or notes")
        recorded = dict(changes)
        postings = self.postings
        if "category" in changes:
            postings = self._postings_for(changes["category"][1])
            recorded["categorization_source"] = [self.categorization_source, "rule"]
            recorded["confidence"] = [self.confidence, 1.0]
        self._rule_applied(rule_id, run_id, recorded, list(postings))

    @event("RuleApplied")
    def _rule_applied(
        self, rule_id: UUID, run_id: UUID | None, changes: dict[str, Any], postings: list[Posting]
    ) -> None:
        for name, (_, after) in changes.items():
            setattr(self, name, after)
        self.postings = tuple(postings)
        if run_id is not None:
            self.rule_runs[str(run_id)] = changes

    def undo_rule_run(self, run_id: UUID) -> dict[str, Any]:
        """Put back what the run changed, field by field, unless the field was changed
        again since (that later change wins). Returns the fields restored."""
        changes = self.rule_runs.get(str(run_id))
        if changes is None or self.status is Status.CANCELLED:
            return {}
        restored = {name: before for name, (before, after) in changes.items() if getattr(self, name) == after}
        if "category" not in restored:
            restored.pop("categorization_source", None)
            restored.pop("confidence", None)
        if not restored:
            return {}
        postings = self.postings
        if "category" in restored:
            postings = self._postings_for(restored["category"])
        self._rule_undone(run_id, restored, list(postings))
        return restored

    @event("RuleUndone")
    def _rule_undone(self, run_id: UUID, restored: dict[str, Any], postings: list[Posting]) -> None:
        for name, value in restored.items():
            setattr(self, name, value)
        self.postings = tuple(postings)
        self.rule_runs.pop(str(run_id), None)

    def _postings_for(self, category: str | None) -> tuple[Posting, ...]:
        if self.kind is EntryKind.TRANSFER:
            return self.postings
        return recategorised(self.postings, self.kind, category or UNCATEGORISED)

    def post(self) -> None:
        self.check_transition(Status.POSTED)
        self._posted()

    @event("Posted")
    def _posted(self) -> None:
        self.status = Status.POSTED

    # --- two phases: authorised (pending, held against the balance), then posted --------

    def hold(self, expires_at: datetime) -> None:
        """A pending transaction is an authorisation: it holds its amount until it is
        posted, voided, or ``expires_at`` passes."""
        if self.status is not Status.PENDING:
            raise IllegalTransitionError("only a pending transaction is held")
        self._held(expires_at)

    @event("Held")
    def _held(self, expires_at: datetime) -> None:
        self.expires_at = expires_at

    def settle(self, postings: tuple[Posting, ...], on: date, batch_id: UUID | None = None) -> None:
        """Post a pending transaction with the amount and date it finally had (a tip, a
        currency conversion, a later booking day); ``batch_id`` when an import did it."""
        self.check_transition(Status.POSTED)
        if self.status is not Status.PENDING:
            raise IllegalTransitionError("only a pending transaction settles with another amount")
        check_balanced(postings)
        before = {"postings": list(self.postings), "date": self.date.isoformat()}
        self._settled(list(postings), on, batch_id, before)

    @event("Settled")
    def _settled(
        self, postings: list[Posting], on: date, batch_id: UUID | None, before: dict[str, Any]
    ) -> None:
        self.postings = tuple(postings)
        self.date = on
        self.status = Status.POSTED
        self.settled_by = batch_id
        self.before_settlement = before

    def unsettle(self, batch_id: UUID) -> tuple[Posting, ...]:
        """Undo of the import that settled it: pending again, with what it held before.
        Returns the postings it had while settled."""
        if self.settled_by != batch_id or self.before_settlement is None:
            raise IllegalTransitionError("the transaction was not settled by this import")
        self.check_not_reconciled("be unsettled")
        settled = self.postings
        before = self.before_settlement
        self._settlement_reverted(batch_id, before["postings"], date.fromisoformat(before["date"]))
        return settled

    @event("SettlementReverted")
    def _settlement_reverted(self, batch_id: UUID, postings: list[Posting], on: date) -> None:
        self.postings = tuple(postings)
        self.date = on
        self.status = Status.PENDING
        self.settled_by = None
        self.before_settlement = None

    def void(self, reason: str) -> None:
        """Release an authorisation: the held amount goes back to the balance."""
        if self.status is not Status.PENDING:
            raise IllegalTransitionError(f"a {self.status} transaction cannot be voided; cancel it")
        self._voided(check_text("reason", reason) or "")

    @event("Voided")
    def _voided(self, reason: str) -> None:
        self.status = Status.CANCELLED

    def expire(self, now: datetime) -> None:
        """The hold ran out before the transaction was posted."""
        if self.status is not Status.PENDING or self.expires_at is None:
            raise IllegalTransitionError("only a held pending transaction expires")
        if now < self.expires_at:
            raise IllegalTransitionError(f"the hold runs until {self.expires_at.isoformat()}")
        self._expired()

    @event("Expired")
    def _expired(self) -> None:
        self.status = Status.CANCELLED

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

    # --- foreign currency ----------------------------------------------------------------

    def paid_in(self, original: Money, rate: Decimal) -> None:
        """The entry was paid in a foreign currency: ``original`` at ``rate`` (account
        currency per foreign unit) gave the amount the account holds."""
        if original.amount <= 0:
            raise InvalidInputError("the foreign amount is positive")
        own = self.household_account_postings()
        if original.currency == own[0][1].amount.currency:
            raise InvalidInputError("the foreign currency is the account's own")
        self._foreign_amount(original, str(rate))

    @event("ForeignAmount")
    def _foreign_amount(self, original: Money, rate: str) -> None:
        self.original_amount = original
        self.rate = Decimal(rate)

    # --- receipts ------------------------------------------------------------------------

    def attach_receipt(self, sha256: str, name: str, content_type: str, size: int) -> None:
        """A file (content-addressed by its sha256) attached as evidence of the transaction."""
        self.check_not_cancelled()
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InvalidInputError("a receipt is named by the sha256 of its bytes")
        if sha256 in self.receipts:
            raise IllegalTransitionError("this file is attached already")
        if len(self.receipts) >= MAX_RECEIPTS:
            raise IllegalTransitionError(f"a transaction holds at most {MAX_RECEIPTS} receipts")
        name = (check_text("file name", name, 255) or "").strip() or "receipt"
        self._receipt_attached(sha256, name, content_type, size)

    @event("ReceiptAttached")
    def _receipt_attached(self, sha256: str, name: str, content_type: str, size: int) -> None:
        self.receipts[sha256] = {"name": name, "content_type": content_type, "size": size}

    def detach_receipt(self, sha256: str) -> None:
        if sha256 not in self.receipts:
            raise NotFoundError(f"no receipt {sha256} on this transaction")
        self._receipt_detached(sha256)

    @event("ReceiptDetached")
    def _receipt_detached(self, sha256: str) -> None:
        del self.receipts[sha256]

    # --- imports -------------------------------------------------------------------------

    def imported(self, batch_id: UUID, external_id: str | None, line: int) -> None:
        """Provenance: this transaction came from line ``line`` of import ``batch_id``."""
        self._imported(batch_id, external_id, line)

    @event("Imported")
    def _imported(self, batch_id: UUID, external_id: str | None, line: int) -> None:
        self.import_batch = batch_id
        self.external_id = external_id

    def match_transfer(self, batch_id: UUID, other_account: UUID, amount: Posting) -> None:
        """An import found the other side of this expense or income in another of the
        household's accounts: it becomes one transfer between the two."""
        self.check_not_cancelled()
        if self.kind is EntryKind.TRANSFER or self.matched_by is not None:
            raise IllegalTransitionError("the transaction is a transfer already")
        own = [p for p in self.postings if p.household_account_id() is not None]
        if len(own) != 1 or own[0].amount != -amount.amount or amount.household_account_id() != other_account:
            raise InvalidInputError("the other side must be the opposite amount in another account")
        if other_account == own[0].household_account_id():
            raise InvalidInputError("a transfer needs two different accounts")
        before = {"kind": str(self.kind), "category": self.category, "postings": list(self.postings)}
        self._transfer_matched(batch_id, [own[0], amount], before)

    @event("TransferMatched")
    def _transfer_matched(self, batch_id: UUID, postings: list[Posting], before: dict[str, Any]) -> None:
        self.kind = EntryKind.TRANSFER
        self.postings = tuple(postings)
        self.category = None
        self.matched_by = batch_id
        self.before_match = before

    def unmatch_transfer(self, batch_id: UUID) -> Posting:
        """Undo of the import that matched it: back to the expense or income it was.
        Returns the posting the other account must take back."""
        if self.matched_by != batch_id or self.before_match is None:
            raise IllegalTransitionError("the transfer was not matched by this import")
        self.check_not_reconciled("be unmatched")
        before = self.before_match
        other = next(p for p in self.postings if p not in before["postings"])
        self._transfer_unmatched(batch_id, before["kind"], before["category"], list(before["postings"]))
        return other

    @event("TransferUnmatched")
    def _transfer_unmatched(
        self, batch_id: UUID, kind: str, category: str | None, postings: list[Posting]
    ) -> None:
        self.kind = EntryKind(kind)
        self.category = category
        self.postings = tuple(postings)
        self.matched_by = None
        self.before_match = None

    def revert_import(self, batch_id: UUID) -> None:
        """A compensating event: the import that brought this transaction is undone."""
        if self.import_batch != batch_id:
            raise IllegalTransitionError("the transaction did not come from this import")
        self.check_not_reconciled("be reverted")
        self.check_not_cancelled()
        self._import_reverted(batch_id)

    @event("ImportReverted")
    def _import_reverted(self, batch_id: UUID) -> None:
        self.status = Status.CANCELLED

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
