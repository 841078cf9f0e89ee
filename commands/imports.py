"""Importing statement files into an account, and undoing an import.

Two passes over the (spooled) file: the first reads every line and refuses a malformed
file before anything is stored; the second appends the lines in chunks of ``CHUNK``.

Every line has an id derived from the household, the account and the line's key (the
bank's id for it, else a fingerprint of date, amount and description, numbered when the
same line occurs more than once in the file: the only state that grows with the file, 12
bytes and a dict entry per line without a bank id). A re-import finds those ids in the event
store and adds nothing; a crash in the middle leaves whole chunks, and importing the file
again completes it. A line whose transaction was reverted by an undone import gets the
next generation of its id, so that a corrected file imports cleanly after an undo.

A line that is the other side of an existing expense or income in another of the
household's accounts (same amount, opposite direction, within ``TRANSFER_DAYS`` days, and
either not categorised by a person or described as a transfer) turns that transaction
into one transfer, instead of adding an income to one account and an expense to the other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError

from commands.application import Ledger
from commands.categorisation import LearnedCategoriser, categorise_new, load_book
from commands.categorisation import changed as changed_book
from commands.loading import load, load_account, with_retries
from commands.statement_files import MalformedFileError, Rejected, Row, StatementLine
from commands.transactions import settle
from commands.write_path import Appended, append
from ledger.account import AccessLevel, Account
from ledger.errors import DomainError, ForbiddenError, IllegalTransitionError, NotFoundError
from ledger.imports import ImportBatch, MatchedLine
from ledger.money import Money
from ledger.posting import EntryKind, Posting, entry_postings
from ledger.transaction import Status, Transaction
from queries.db import TRANSACTIONS_SCHEMA, ReadStore

CHUNK = 500
SHOWN_REJECTED = 1000
TRANSFER_DAYS = 3
MAX_GENERATIONS = 50
WINDOW = dt.timedelta(days=TRANSFER_DAYS)
PENDING_WINDOW = dt.timedelta(days=7)
SETTLE_SPREAD = Decimal("0.3")
WORD = re.compile(r"[^\W\d_]{3,}")
TRANSFER_WORDS = re.compile(
    r"\b(transfer|tfr|xfer|own account|savings|standing order|to account|from account"
    r"|virement|überweisung)\b",
    re.IGNORECASE,
)
REVERTED_TOPICS = ("ledger.transaction:Transaction.ImportReverted", "ledger.imports:MatchedLine.Reverted")


@dataclass
class ImportReport:
    batch_id: UUID | None
    lines: int = 0
    added: int = 0
    duplicates: int = 0
    transfers: int = 0
    completed: int = 0  # pending transactions that a posted line completed
    rejected: list[Rejected] = field(default_factory=list)
    rejected_count: int = 0
    position: int = 0

    def reject(self, rejected: Rejected) -> None:
        self.rejected_count += 1
        if len(self.rejected) < SHOWN_REJECTED:
            self.rejected.append(rejected)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "added": self.added,
            "duplicates": self.duplicates,
            "transfers": self.transfers,
            "completed": self.completed,
            "rejected": [[r.line, r.reason] for r in self.rejected],
            "rejected_count": self.rejected_count,
        }

    @classmethod
    def from_dict(cls, batch_id: UUID, data: dict[str, Any], position: int) -> ImportReport:
        return cls(
            batch_id=batch_id,
            lines=data["lines"],
            added=data["added"],
            duplicates=data["duplicates"],
            transfers=data["transfers"],
            completed=data.get("completed", 0),
            rejected=[Rejected(line, reason) for line, reason in data["rejected"]],
            rejected_count=data["rejected_count"],
            position=position,
        )


def line_key(line: StatementLine) -> str:
    if line.external_id:
        return f"id:{line.external_id}"
    description = " ".join(line.description.casefold().split())
    return f"fp:{line.date.isoformat()}|{line.amount.normalize():f}|{description}"


def numbered(rows: Iterator[Row]) -> Iterator[tuple[StatementLine, str]]:
    """The readable lines with their keys; the same line without a bank id occurring twice
    in a file is two transactions, told apart by their occurrence number."""
    occurrences: dict[bytes, int] = {}
    for row in rows:
        if isinstance(row, Rejected):
            continue
        key = line_key(row)
        n = 0
        if row.external_id is None:
            digest = hashlib.blake2b(key.encode(), digest_size=12).digest()
            n = occurrences.get(digest, 0)
            occurrences[digest] = n + 1
        yield row, f"{key}#{n}"


class Imports:
    def __init__(self, app: Ledger, reads: ReadStore, categoriser: LearnedCategoriser | None = None) -> None:
        self.app = app
        self.reads = reads
        self.categoriser = categoriser

    # --- import -------------------------------------------------------------------------

    def run(
        self,
        household_id: UUID,
        account_id: UUID,
        rows: Callable[[], Iterator[Row]],
        source: dict[str, Any],
        actor: UUID | None,
        batch_id: UUID,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import the lines ``rows()`` yields (called twice: check, then store)."""
        account = load_account(self.app, household_id, account_id, actor, AccessLevel.FULL)
        earlier = self._earlier(household_id, batch_id, source)
        if earlier is not None:
            return earlier
        report = ImportReport(batch_id=None)
        readable = 0
        for row in rows():
            report.lines += 1
            if isinstance(row, Rejected):
                report.reject(row)
            else:
                readable += 1
        if source.get("currency") and source["currency"] != account.currency:
            raise MalformedFileError(
                f"the file is in {source['currency']}; the account holds {account.currency}"
            )
        if readable == 0:
            reasons = "; ".join(f"line {r.line}: {r.reason}" for r in report.rejected[:3])
            raise MalformedFileError(
                f"no line of the file could be read ({reasons or 'the file has no lines'})"
            )
        source = source | {"lines": report.lines}
        chunk: list[tuple[StatementLine, str]] = []
        done = 0
        for keyed in numbered(rows()):
            chunk.append(keyed)
            if len(chunk) == CHUNK:
                self._store(household_id, account_id, batch_id, source, chunk, actor, report)
                done += len(chunk)
                chunk = []
                if progress is not None:
                    progress(done)
        if chunk:
            self._store(household_id, account_id, batch_id, source, chunk, actor, report)
        if report.batch_id is not None:

            def complete() -> Appended:
                batch = self._batch(household_id, batch_id)
                batch.complete(report.as_dict())
                return append(self.app, batch)

            report.position = with_retries(complete).position
        return report

    def _earlier(self, household_id: UUID, batch_id: UUID, source: dict[str, Any]) -> ImportReport | None:
        """A retry of an import (same Idempotency-Key) answers the first report."""
        try:
            batch = self._batch(household_id, batch_id)
        except NotFoundError:
            return None
        if batch.source.get("sha256") != source.get("sha256"):
            raise IllegalTransitionError("this Idempotency-Key was used for another file")
        if batch.report is None:
            return None  # interrupted: importing again completes it
        return ImportReport.from_dict(batch.id, batch.report, self.app.recorder.max_notification_id() or 0)

    def _batch(self, household_id: UUID, batch_id: UUID) -> ImportBatch:
        try:
            batch = self.app.repository.get(batch_id)
        except AggregateNotFoundError:
            batch = None
        if not isinstance(batch, ImportBatch) or batch.household_id != household_id:
            raise NotFoundError(f"no import {batch_id}")
        return batch

    def _store(
        self,
        household_id: UUID,
        account_id: UUID,
        batch_id: UUID,
        source: dict[str, Any],
        lines: list[tuple[StatementLine, str]],
        actor: UUID | None,
        report: ImportReport,
    ) -> None:
        def attempt() -> tuple[int, int, int, int, list[Rejected], int]:
            return self._store_once(household_id, account_id, batch_id, source, lines, actor)

        added, duplicates, transfers, completed, late, position = with_retries(attempt)
        report.added += added
        report.duplicates += duplicates
        report.transfers += transfers
        report.completed += completed
        for rejected in late:
            report.reject(rejected)
        if added or transfers or completed:
            report.batch_id = batch_id
            report.position = max(report.position, position)

    def _store_once(
        self,
        household_id: UUID,
        account_id: UUID,
        batch_id: UUID,
        source: dict[str, Any],
        lines: list[tuple[StatementLine, str]],
        actor: UUID | None,
    ) -> tuple[int, int, int, int, list[Rejected], int]:
        """One chunk in one append: new lines become transactions (or complete a transfer)."""
        ids = self._line_ids(household_id, account_id, [key for _, key in lines])
        fresh, seen = [], set()
        for (line, _), (tid, live) in zip(lines, ids, strict=True):
            if not live and tid not in seen:  # a bank id given twice in one file: one transaction
                fresh.append((line, tid))
                seen.add(tid)
        duplicates = len(lines) - len(fresh)
        if not fresh:
            return 0, duplicates, 0, 0, [], 0
        account = load_account(self.app, household_id, account_id, actor, AccessLevel.FULL)
        book = load_book(self.app, household_id)
        try:
            batch = self._batch(household_id, batch_id)
        except NotFoundError:
            batch = ImportBatch.start(batch_id, household_id, account_id, source)
        changed: list[Any] = []
        added: list[UUID] = []
        matched: list[list[UUID]] = []
        late: list[Rejected] = []
        candidates = self._transfer_candidates(household_id, account, [line for line, _ in fresh])
        holds = self._pending_candidates(household_id, account, [line for line, _ in fresh])
        settled: list[list[UUID]] = []
        for line, tid in fresh:
            try:
                taken = {m[0] for m in matched} | {m[0] for m in settled}
                held = self._pending_side(household_id, line, holds, taken)
                if held is not None:
                    settle(
                        held,
                        {account.id: account},
                        Money.of(abs(line.amount), account.currency),
                        line.date,
                        batch.id,
                    )
                    changed += [held, MatchedLine.of(tid, batch.id, held.id)]
                    settled.append([held.id, tid])
                    continue
                existing = self._transfer_side(household_id, line, actor, candidates, taken)
                if existing is not None:
                    changed += self._complete_transfer(batch, account, existing, line, tid)
                    matched.append([existing.id, tid])
                else:
                    changed.append(self._new_transaction(household_id, batch, account, book, line, tid))
                    added.append(tid)
            except DomainError as error:  # e.g. below the account's minimum balance
                late.append(Rejected(line.line, str(error)))
        if not added and not matched and not settled:
            return 0, duplicates, 0, 0, late, 0
        batch.chunk(added, matched, settled)
        done = append(self.app, batch, account, *changed, *changed_book(book))
        return len(added), duplicates, len(matched), len(settled), late, done.position

    def _pending_candidates(
        self, household_id: UUID, account: Account, lines: list[StatementLine]
    ) -> list[dict[str, Any]]:
        """Pending transactions of this account dated near these lines."""
        if not lines:
            return []
        with self.reads.cursor() as curs:
            curs.execute(
                "SELECT transaction_id, kind, amount, date, recorded_at, description, merchant"  # noqa: S608
                f" FROM {TRANSACTIONS_SCHEMA}.transactions WHERE household_id = %s AND account_id = %s"
                " AND status = 'pending' AND kind IN ('expense', 'income') AND date BETWEEN %s AND %s",
                (
                    household_id, account.id,
                    min(line.date for line in lines) - PENDING_WINDOW,
                    max(line.date for line in lines) + PENDING_WINDOW,
                ),
            )  # fmt: skip
            return curs.fetchall()

    def _pending_side(
        self, household_id: UUID, line: StatementLine, holds: list[dict[str, Any]], taken: set[UUID]
    ) -> Transaction | None:
        """The pending transaction this posted line completes: the same direction, a few days
        apart, and the same amount, or the same payee within ``SETTLE_SPREAD`` of it (a tip,
        a converted currency)."""
        kind = "income" if line.amount > 0 else "expense"
        size = abs(line.amount)
        words = set(WORD.findall(f"{line.merchant or ''} {line.description}".casefold()))

        def fits(row: dict[str, Any]) -> bool:
            if row["kind"] != kind or row["transaction_id"] in taken:
                return False
            if abs((row["date"] - line.date).days) > PENDING_WINDOW.days:
                return False
            if row["amount"] == size:
                return True
            theirs = set(WORD.findall(f"{row['merchant'] or ''} {row['description']}".casefold()))
            return bool(words & theirs) and abs(row["amount"] - size) <= row["amount"] * SETTLE_SPREAD

        fitting = sorted(
            (row for row in holds if fits(row)),
            key=lambda row: (row["amount"] != size, abs((row["date"] - line.date).days), row["recorded_at"]),
        )
        for row in fitting:
            held = load(self.app, Transaction, household_id, row["transaction_id"])
            if held.status is Status.PENDING:
                return held
        return None

    def _complete_transfer(
        self, batch: ImportBatch, account: Account, existing: Transaction, line: StatementLine, tid: UUID
    ) -> list[Any]:
        posting = Money.of(line.amount, account.currency)
        existing.match_transfer(batch.id, account.id, Posting(str(account.id), posting))
        account.post(existing.id, posting)  # if this refuses, the copy of ``existing`` is dropped
        return [existing, MatchedLine.of(tid, batch.id, existing.id)]

    def _new_transaction(
        self,
        household_id: UUID,
        batch: ImportBatch,
        account: Account,
        book: Any,
        line: StatementLine,
        tid: UUID,
    ) -> Transaction:
        kind = EntryKind.INCOME if line.amount > 0 else EntryKind.EXPENSE
        postings = entry_postings(kind, Money.of(abs(line.amount), account.currency), account.id)
        transaction = Transaction.record(
            household_id, kind, postings, line.date, line.description, merchant=line.merchant, id=tid
        )
        transaction.imported(batch.id, line.external_id, line.line)
        categorise_new(book, transaction, False, self.categoriser)
        account.post(transaction.id, Money.of(line.amount, account.currency))
        return transaction

    def _line_ids(self, household_id: UUID, account_id: UUID, keys: list[str]) -> list[tuple[UUID, bool]]:
        """Each line's id, and whether a live (not reverted) aggregate has it already."""
        generation = [0] * len(keys)
        result: list[tuple[UUID, bool]] = [(UUID(int=0), False)] * len(keys)
        pending = list(range(len(keys)))
        recorder: Any = self.app.recorder
        for _ in range(MAX_GENERATIONS):
            ids = {
                n: uuid5(
                    NAMESPACE_URL, f"fiscaflow:import:{household_id}:{account_id}:{keys[n]}@{generation[n]}"
                )
                for n in pending
            }
            with recorder.datastore.get_connection() as conn:
                rows = conn.execute(
                    "SELECT originator_id, bool_or(topic = ANY(%s)) AS reverted"
                    " FROM eventstore.fiscaflow_events"
                    " WHERE originator_id = ANY(string_to_array(%s, ',')::uuid[]) GROUP BY originator_id",
                    (list(REVERTED_TOPICS), ",".join(str(i) for i in ids.values())),
                ).fetchall()
            found = {row["originator_id"]: bool(row["reverted"]) for row in rows}
            again = []
            for n, tid in ids.items():
                if found.get(tid):  # reverted by an undone import: the next generation
                    generation[n] += 1
                    again.append(n)
                else:
                    result[n] = (tid, tid in found)
            if not again:
                return result
            pending = again
        raise IllegalTransitionError("this line was imported and undone too many times")

    def _transfer_candidates(
        self, household_id: UUID, account: Account, lines: list[StatementLine]
    ) -> list[dict[str, Any]]:
        """Expenses and incomes in the household's other accounts that could be the other
        side of these lines (same amounts, dates in reach): one query per chunk."""
        if not lines:
            return []
        with self.reads.cursor() as curs:
            curs.execute(
                "SELECT transaction_id, kind, amount, date, recorded_at, description, category,"  # noqa: S608
                f" categorization_source FROM {TRANSACTIONS_SCHEMA}.transactions"
                " WHERE household_id = %s AND kind IN ('expense', 'income')"
                " AND status IN ('posted', 'pending')"
                " AND NOT reconciled AND account_id <> %s AND currency = %s"
                " AND amount = ANY(string_to_array(%s, ',')::numeric[]) AND date BETWEEN %s AND %s",
                (
                    household_id, account.id, account.currency,
                    ",".join(sorted({str(abs(line.amount)) for line in lines})),
                    min(line.date for line in lines) - WINDOW, max(line.date for line in lines) + WINDOW,
                ),
            )  # fmt: skip
            return curs.fetchall()

    def _transfer_side(
        self,
        household_id: UUID,
        line: StatementLine,
        actor: UUID | None,
        candidates: list[dict[str, Any]],
        taken: set[UUID],
    ) -> Transaction | None:
        """An existing expense (for money in) or income (for money out) of the same amount in
        another of the household's accounts, a few days apart, that the actor may change,
        and that a person did not categorise (unless one side is described as a transfer)."""
        kind = "expense" if line.amount > 0 else "income"
        described = bool(TRANSFER_WORDS.search(line.description))
        fitting = sorted(
            (
                row
                for row in candidates
                if row["kind"] == kind
                and row["amount"] == abs(line.amount)
                and abs((row["date"] - line.date).days) <= TRANSFER_DAYS
                and row["transaction_id"] not in taken
            ),
            key=lambda row: (abs((row["date"] - line.date).days), row["recorded_at"]),
        )
        for row in fitting:
            by_person = row["category"] is not None and row["categorization_source"] in (None, "manual")
            if by_person and not (described or TRANSFER_WORDS.search(row["description"])):
                continue
            try:
                existing = load(self.app, Transaction, household_id, row["transaction_id"])
                for other_id, _ in existing.household_account_postings():
                    load_account(self.app, household_id, other_id, actor, AccessLevel.FULL)
            except (NotFoundError, ForbiddenError):
                continue
            usable = existing.kind is not EntryKind.TRANSFER and existing.matched_by is None
            if (
                usable
                and existing.status in (Status.POSTED, Status.PENDING)
                and existing.reconciled_by is None
            ):
                return existing
        return None

    # --- undo ---------------------------------------------------------------------------

    def undo(self, household_id: UUID, batch_id: UUID, actor: UUID | None, reason: str) -> Appended:
        """Revert a whole import by compensating events: its transactions are reverted (their
        postings leave the balances), transfers it matched become what they were."""
        batch = self._batch(household_id, batch_id)
        load_account(self.app, household_id, batch.account_id, actor, AccessLevel.FULL)
        self.check_undoable(household_id, batch_id)
        added = self.added_by(batch.id)
        for start in range(0, len(added), CHUNK):
            ids = added[start : start + CHUNK]
            with_retries(lambda ids=ids: self._revert_added(household_id, batch, ids, actor))  # type: ignore[misc]
        unsettle = partial(self._unsettle, batch.id)
        unmatch = partial(self._unmatch, batch.id)
        for pairs, undo in ((batch.settled, unsettle), (batch.matched, unmatch)):
            for transaction_id, line_id in pairs:
                with_retries(
                    partial(self._undo_line, household_id, batch, transaction_id, line_id, actor, undo)
                )

        def finish() -> Appended:
            fresh = self._batch(household_id, batch_id)
            fresh.revert(reason)
            return append(self.app, fresh)

        return with_retries(finish)

    def _revert_added(
        self, household_id: UUID, batch: ImportBatch, ids: list[UUID], actor: UUID | None
    ) -> None:
        account = load_account(self.app, household_id, batch.account_id, actor, AccessLevel.FULL)
        changed = []
        for transaction_id in ids:
            transaction = load(self.app, Transaction, household_id, transaction_id)
            if transaction.status is Status.CANCELLED:
                continue  # cancelled by hand, or reverted by an interrupted undo: done
            transaction.revert_import(batch.id)
            for account_id, posting in transaction.household_account_postings():
                if account_id != account.id:
                    raise IllegalTransitionError(f"transaction {transaction_id} was changed into a transfer")
                account.reverse(transaction.id, posting.amount)
            changed.append(transaction)
        if changed:
            append(self.app, account, *changed)

    def _undo_line(
        self,
        household_id: UUID,
        batch: ImportBatch,
        transaction_id: UUID,
        line_id: UUID,
        actor: UUID | None,
        undo: Callable[[Transaction, Account], None],
    ) -> None:
        """Undo what a matched line did to an existing transaction (a transfer it matched, a
        hold it settled), once: the line's marker is reverted in the same append."""
        marker = self.app.repository.get(line_id)
        assert isinstance(marker, MatchedLine)
        if marker.reverted:
            return
        transaction = load(self.app, Transaction, household_id, transaction_id)
        account = load_account(self.app, household_id, batch.account_id, actor, AccessLevel.FULL)
        undo(transaction, account)
        marker.revert()
        append(self.app, transaction, account, marker)

    @staticmethod
    def _unmatch(batch_id: UUID, existing: Transaction, account: Account) -> None:
        other = existing.unmatch_transfer(batch_id)
        account.reverse(existing.id, other.amount)

    @staticmethod
    def _unsettle(batch_id: UUID, held: Transaction, account: Account) -> None:
        for posting in held.unsettle(batch_id):
            if posting.household_account_id() == account.id:
                account.reverse(held.id, posting.amount)
        for account_id, posting in held.household_account_postings():
            if account_id == account.id:
                account.post(held.id, posting.amount)

    def added_by(self, batch_id: UUID) -> list[UUID]:
        """The transactions an import added, from its ChunkImported events."""
        chunk = ImportBatch.ChunkImported  # type: ignore[attr-defined]
        return [i for e in self.app.events.get(batch_id) if isinstance(e, chunk) for i in e.added]

    def check_undoable(self, household_id: UUID, batch_id: UUID) -> None:
        """Refuse early (nothing changed) when a transaction of the import is reconciled."""
        batch = self._batch(household_id, batch_id)
        batch.check_not_reverted()
        for transaction_id in self.added_by(batch.id):
            transaction = load(self.app, Transaction, household_id, transaction_id)
            if transaction.reconciled_by is not None:
                raise IllegalTransitionError(
                    f"transaction {transaction_id} of this import is reconciled: the bank confirmed it"
                )
