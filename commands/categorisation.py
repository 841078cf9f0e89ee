"""Categories, rules and the learned categoriser: the command side.

A household's categories and rules live in its ``CategoryBook``. Rules apply when a
transaction is recorded or imported; a rule can also run over past transactions (previewed
first as a diff, recorded as one run caused by that rule, undone as one step). When no
rule sets a category, the learned categoriser (naive Bayes over the household's own
categorised history) sets one if it is confident enough.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from commands.absence import ABSENT
from commands.application import Ledger
from commands.loading import load, load_account, with_retries
from commands.messages import AddCategory, MergeCategory, RenameCategory, RuleBody
from commands.write_path import Appended, append
from ledger.account import AccessLevel
from ledger.categories import Actions, CategoryBook, Facts, Rule, Trigger, book_id
from ledger.categoriser import Example, NaiveBayes, Suggestion
from ledger.errors import ForbiddenError, InvalidInputError, NotFoundError
from ledger.posting import UNCATEGORISED, EntryKind
from ledger.transaction import Status, Transaction
from queries.db import TRANSACTIONS_SCHEMA, ReadStore

MAX_RUN = 10_000  # transactions one rule run may change (one append, all or nothing)
TRAINING_ROWS = 20_000


def load_book(
    app: Ledger, household_id: UUID, *, remember_absence: bool = False, shared: bool = False
) -> CategoryBook:
    """The household's book; a household that never changed it has the default tree.
    ``remember_absence``: skip the read for a while once the book was found absent
    (commands/absence.py); the caller's append must then depend on ``unstored(book)``.
    ``shared``: the cache's own object, not a copy, for a caller that only reads it and
    copies it (``for_change``) before changing it. A book collects its categories, rules
    and the transaction ids of every rule run: copying it for each recorded transaction
    took 0.5 ms with the default tree alone, and grows with the household's history."""
    key = book_id(household_id)
    if remember_absence and ABSENT.known(key):
        return CategoryBook.open(household_id)
    try:
        book = app.repository.get(key, deepcopy_from_cache=not shared)
    except AggregateNotFoundError:
        if remember_absence:
            ABSENT.seen(key)
        return CategoryBook.open(household_id)
    assert isinstance(book, CategoryBook)
    return book


def for_change(book: CategoryBook, categories: Iterable[str | None]) -> CategoryBook:
    """A shared book (``load_book(shared=True)``), or a copy of it if recording under these
    category names would change it: a name it does not know becomes a category of the
    household's own. A name that is not valid gets a copy too; recording refuses it."""
    for name in categories:
        try:
            adds = book.adds(name)
        except InvalidInputError:
            adds = True
        if adds:
            return deepcopy(book)
    return book


def unstored(book: CategoryBook) -> dict[UUID, int]:
    """``depends_on`` for a default book that is not stored: it must still be absent (version
    0) when the append is stored, else the append is a conflict and is tried again."""
    pending = book.pending_events
    return {book.id: 0} if pending and pending[0].originator_version == 1 else {}


def changed(book: CategoryBook) -> list[CategoryBook]:
    """The book, if a command changed it (a default book that was only opened is not saved)."""
    opened = CategoryBook.Opened  # type: ignore[attr-defined]
    return [book] if any(not isinstance(e, opened) for e in book.pending_events) else []


def facts_of(transaction: Transaction) -> Facts:
    own = transaction.household_account_postings()
    source = next((a for a, p in own if p.amount.amount < 0), own[0][0])
    return Facts(
        description=transaction.description,
        merchant=transaction.merchant,
        kind=str(transaction.kind),
        amount=abs(own[0][1].amount.amount),
        account_id=source,
    )


class LearnedCategoriser:
    """Naive Bayes per household, trained from the transactions read model (categories
    chosen by people or rules, never by itself) and kept for ``ttl`` seconds."""

    def __init__(self, reads: ReadStore, threshold: float = 0.7, ttl: float = 60.0) -> None:
        self.reads = reads
        self.threshold = threshold
        self.ttl = ttl
        self.models: dict[UUID, tuple[float, NaiveBayes]] = {}
        self.lock = threading.Lock()

    def model(self, household_id: UUID) -> NaiveBayes:
        now = time.monotonic()
        with self.lock:
            cached = self.models.get(household_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        model = NaiveBayes(self.history(household_id))
        with self.lock:
            self.models[household_id] = (now, model)
        return model

    def forget(self, household_id: UUID) -> None:
        with self.lock:
            self.models.pop(household_id, None)

    def history(self, household_id: UUID) -> list[Example]:
        """The household's categorised history, newest first; private accounts left out
        so that a suggestion never tells one member about another's private spending."""
        s = TRANSACTIONS_SCHEMA
        with self.reads.cursor() as curs:
            curs.execute(
                f"SELECT description, merchant, kind, amount, category FROM {s}.transactions t"  # noqa: S608
                " WHERE household_id = %s AND category IS NOT NULL AND lower(category) <> %s"
                " AND coalesce(categorization_source, 'manual') <> 'ml' AND status <> 'cancelled'"
                f" AND NOT EXISTS (SELECT 1 FROM {s}.account_access a"
                "   WHERE a.account_id = ANY(t.account_ids) AND a.default_access = 'none')"
                " ORDER BY date DESC LIMIT %s",
                (household_id, UNCATEGORISED, TRAINING_ROWS),
            )
            return [
                Example(r["description"], r["merchant"], r["kind"], r["amount"], r["category"])
                for r in curs.fetchall()
            ]

    def suggest(self, household_id: UUID, example: Example, top: int = 3) -> list[Suggestion]:
        return self.model(household_id).suggest(example, top)

    def confident(self, household_id: UUID, example: Example) -> Suggestion | None:
        found = self.suggest(household_id, example, top=1)
        return found[0] if found and found[0].confidence >= self.threshold else None


def categorise_new(
    book: CategoryBook,
    transaction: Transaction,
    manual: bool,
    categoriser: LearnedCategoriser | None,
) -> None:
    """On record and import: the first matching rule applies (its category only where the
    person gave none); else the learned categoriser, if confident."""
    rule = book.first_match(facts_of(transaction))
    if rule is not None:
        changes = rule.changes_for(transaction.category, transaction.tags, transaction.notes)
        if manual:
            changes.pop("category", None)
        if changes:
            transaction.apply_rule(rule.id, None, changes)
    if manual or transaction.category is not None or transaction.kind is EntryKind.TRANSFER:
        return
    if categoriser is not None:
        amount = abs(transaction.household_account_postings()[0][1].amount.amount)
        example = Example(transaction.description, transaction.merchant, str(transaction.kind), amount)
        suggestion = categoriser.confident(transaction.household_id, example)
        if suggestion is not None:
            category = book.resolve(suggestion.category)
            if category is not None and not category.archived:
                transaction.categorise_by_model(category.name, suggestion.confidence)


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: UUID | None
    changes: list[tuple[UUID, dict[str, Any]]]  # transaction id -> field: [before, after]
    appended: Appended | None


class CategoryCommands:
    """Add, rename, archive and merge categories; save, delete, run and undo rules."""

    def __init__(self, app: Ledger, reads: ReadStore | None = None) -> None:
        self.app = app
        self.reads = reads

    def _change_book(self, household_id: UUID, change: Any) -> Appended:
        def attempt() -> Appended:
            book = load_book(self.app, household_id)
            change(book)
            return append(self.app, book)

        return with_retries(attempt)

    def add(self, household_id: UUID, command: AddCategory) -> Appended:
        return self._change_book(household_id, lambda b: b.add(command.name, command.parent, command.kind))

    def rename(self, household_id: UUID, name: str, command: RenameCategory) -> Appended:
        return self._change_book(household_id, lambda b: b.rename(name, command.name))

    def merge(self, household_id: UUID, name: str, command: MergeCategory) -> Appended:
        return self._change_book(household_id, lambda b: b.merge(name, command.into))

    def archive(self, household_id: UUID, name: str) -> Appended:
        return self._change_book(household_id, lambda b: b.archive(name))

    def save_rule(
        self, household_id: UUID, rule_id: UUID | None, body: RuleBody, new_id: UUID | None = None
    ) -> Appended:
        """Replace rule ``rule_id`` (404 if unknown), or create one (as ``new_id``)."""

        def change(book: CategoryBook) -> None:
            if rule_id is not None:
                book.rule(rule_id)
            book.save_rule(rule_from(rule_id or new_id or uuid.uuid4(), body))

        return self._change_book(household_id, change)

    def delete_rule(self, household_id: UUID, rule_id: UUID) -> Appended:
        return self._change_book(household_id, lambda b: b.delete_rule(rule_id))

    # --- rule runs over past transactions -------------------------------------------------

    def run_rule(
        self,
        household_id: UUID,
        rule_id: UUID,
        actor: UUID | None,
        *,
        preview: bool,
        since: Any = None,
        run_id: UUID | None = None,
    ) -> RunResult:
        """Apply a rule to the past transactions it matches (those the actor may annotate).
        With ``preview`` nothing is stored and the diff is returned."""

        def attempt() -> RunResult:
            book = load_book(self.app, household_id)
            rule = book.rule(rule_id)
            changed: list[Transaction] = []
            diff: list[tuple[UUID, dict[str, Any]]] = []
            for transaction_id in self._candidates(household_id, rule, since):
                transaction = self._annotatable(household_id, transaction_id, actor)
                if transaction is None or not rule.matches(facts_of(transaction)):
                    continue
                changes = rule.changes_for(transaction.category, transaction.tags, transaction.notes)
                if changes:
                    changed.append(transaction)
                    diff.append((transaction.id, changes))
            if len(diff) > MAX_RUN:
                raise InvalidInputError(f"the rule would change {len(diff)} transactions; at most {MAX_RUN}")
            if preview or not diff:
                return RunResult(None, diff, None)
            run = run_id or uuid.uuid4()
            for transaction, (_, changes) in zip(changed, diff, strict=True):
                transaction.apply_rule(rule.id, run, changes)
            book.record_run(run, rule.id, [t.id for t in changed])
            return RunResult(run, diff, append(self.app, book, *changed))

        return with_retries(attempt)

    def undo_run(self, household_id: UUID, run_id: UUID, actor: UUID | None) -> Appended:
        """Put back what a run changed, as one append; fields changed again since are kept."""

        def attempt() -> Appended:
            book = load_book(self.app, household_id)
            changed = []
            for transaction_id in book.undo_run(run_id):
                transaction = self._annotatable(household_id, transaction_id, actor)
                if transaction is not None and transaction.undo_rule_run(run_id):
                    changed.append(transaction)
            return append(self.app, book, *changed)

        return with_retries(attempt)

    def _annotatable(
        self, household_id: UUID, transaction_id: UUID, actor: UUID | None
    ) -> Transaction | None:
        transaction = load(self.app, Transaction, household_id, transaction_id)
        if transaction.status is Status.CANCELLED:
            return None
        try:
            for account_id, _ in transaction.household_account_postings():
                load_account(self.app, household_id, account_id, actor, AccessLevel.ANNOTATE)
        except (NotFoundError, ForbiddenError):
            return None  # a run changes only what the actor may annotate
        return transaction

    def _candidates(self, household_id: UUID, rule: Rule, since: Any) -> list[UUID]:
        """Transactions the read model says the rule matches; each is checked again
        against its aggregate before it changes."""
        if self.reads is None:
            raise RuntimeError("rule runs need the read store")
        with self.reads.cursor() as curs:
            curs.execute(
                "SELECT transaction_id, description, merchant, kind, amount, account_id"  # noqa: S608
                f" FROM {TRANSACTIONS_SCHEMA}.transactions"
                " WHERE household_id = %s AND status <> 'cancelled' AND (%s::date IS NULL OR date >= %s)"
                " ORDER BY date, recorded_at",
                (household_id, since, since),
            )
            return [
                r["transaction_id"]
                for r in curs
                if rule.matches(
                    Facts(r["description"], r["merchant"], r["kind"], r["amount"], r["account_id"])
                )
            ]


def rule_from(rule_id: UUID, body: RuleBody) -> Rule:
    return Rule(
        id=rule_id,
        name=body.name,
        triggers=tuple(Trigger(t.field, t.op, t.value) for t in body.triggers),
        actions=Actions(body.actions.set_category, tuple(body.actions.add_tags), body.actions.set_notes),
        match=body.match,
        priority=body.priority,
        active=body.active,
    )
