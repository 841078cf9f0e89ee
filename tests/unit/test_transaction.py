"""The Transaction aggregate: balanced postings, editable descriptions, a status lifecycle."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger.errors import ConflictError, IllegalTransitionError, InvalidInputError
from ledger.posting import EntryKind, Posting, entry_postings
from ledger.transaction import (
    EDITABLE_FIELDS,
    MAX_NOTES,
    MAX_TAGS,
    MAX_TEXT,
    TRANSITIONS,
    Status,
    Transaction,
    check_edit,
    check_tags,
)
from tests.unit.support import (
    DAY,
    assert_refused_without_change,
    assert_same_aggregate,
    eur,
    record,
    replay,
    through_storage,
)

ACCOUNT = UUID("11111111-1111-4111-8111-111111111111")
OTHER = UUID("22222222-2222-4222-8222-222222222222")

# The documented lifecycle, written out independently of ledger.transaction.TRANSITIONS.
LEGAL = {
    (Status.PENDING, Status.POSTED),
    (Status.PENDING, Status.CANCELLED),
    (Status.POSTED, Status.CANCELLED),
    (Status.POSTED, Status.DISPUTED),
    (Status.DISPUTED, Status.POSTED),
    (Status.DISPUTED, Status.CANCELLED),
}
# Statuses a command can move to (no command makes a transaction pending again).
TARGETS = [Status.POSTED, Status.DISPUTED, Status.CANCELLED]


def in_status(status: Status) -> Transaction:
    """A transaction brought to ``status`` through legal moves."""
    if status is Status.PENDING:
        return record(status=Status.PENDING)
    transaction = record(status=Status.POSTED)
    if status is Status.DISPUTED:
        transaction.dispute("not mine")
    elif status is Status.CANCELLED:
        transaction.cancel("duplicate")
    assert transaction.status is status
    return transaction


def move(transaction: Transaction, to: Status) -> None:
    if to is Status.POSTED:
        transaction.post()
    elif to is Status.DISPUTED:
        transaction.dispute("why")
    else:
        transaction.cancel("why")


class TestRecord:
    def test_record_keeps_every_fact(self) -> None:
        household = uuid4()
        postings = entry_postings(EntryKind.EXPENSE, eur("12.34"), ACCOUNT, category="food")
        transaction = Transaction.record(
            household,
            EntryKind.EXPENSE,
            postings,
            DAY,
            "Weekly shop",
            merchant="Market",
            category="food",
            tags=["home", "weekly", "home"],
            notes="with receipts",
        )
        assert transaction.household_id == household
        assert transaction.kind is EntryKind.EXPENSE
        assert transaction.postings == postings
        assert isinstance(transaction.postings, tuple)
        assert transaction.date == DAY
        assert transaction.description == "Weekly shop"
        assert transaction.merchant == "Market"
        assert transaction.category == "food"
        assert transaction.tags == ["home", "weekly"]
        assert transaction.notes == "with receipts"
        assert transaction.status is Status.POSTED
        assert transaction.version == 1
        assert [type(e).__name__ for e in transaction.collect_events()] == ["Recorded"]

    def test_optional_facts_default_to_nothing(self) -> None:
        postings = entry_postings(EntryKind.INCOME, eur("1"), ACCOUNT)
        transaction = Transaction.record(uuid4(), EntryKind.INCOME, postings, DAY, "")
        assert transaction.merchant is None
        assert transaction.category is None
        assert transaction.tags == []
        assert transaction.notes is None
        assert transaction.status is Status.POSTED

    @pytest.mark.parametrize("status", [Status.PENDING, Status.POSTED])
    def test_a_new_transaction_is_pending_or_posted(self, status: Status) -> None:
        assert record(status=status).status is status

    @pytest.mark.parametrize("status", [Status.CANCELLED, Status.DISPUTED])
    def test_a_new_transaction_cannot_start_cancelled_or_disputed(self, status: Status) -> None:
        with pytest.raises(InvalidInputError, match="pending or posted"):
            record(status=status)

    def test_status_given_as_text_becomes_the_enum(self) -> None:
        assert record(status="pending").status is Status.PENDING  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "postings",
        [
            (),
            (Posting(str(ACCOUNT), eur("0")),),
            (Posting(str(ACCOUNT), eur("-1")), Posting("expenses:food", eur("0.99"))),
        ],
    )
    def test_unbalanced_postings_are_refused(self, postings: tuple[Posting, ...]) -> None:
        with pytest.raises(InvalidInputError):
            Transaction.record(uuid4(), EntryKind.EXPENSE, postings, DAY, "x")

    @pytest.mark.parametrize(
        "fields",
        [
            {"description": "d" * (MAX_TEXT + 1)},
            {"merchant": "m" * (MAX_TEXT + 1)},
            {"notes": "n" * (MAX_NOTES + 1)},
            {"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]},
            {"tags": [" "]},
            {"tags": ["x" * 51]},
        ],
    )
    def test_oversized_or_empty_fields_are_refused(self, fields: dict[str, Any]) -> None:
        with pytest.raises(InvalidInputError):
            record(**fields)

    def test_limits_are_inclusive(self) -> None:
        transaction = record(
            description="d" * MAX_TEXT,
            merchant="m" * MAX_TEXT,
            notes="n" * MAX_NOTES,
            tags=[f"t{i:02}" for i in range(MAX_TAGS)],
        )
        assert len(transaction.tags) == MAX_TAGS

    def test_household_account_postings(self) -> None:
        transfer = record(EntryKind.TRANSFER, "5", account_id=ACCOUNT, to_account_id=OTHER)
        assert transfer.household_account_postings() == [
            (ACCOUNT, Posting(str(ACCOUNT), eur("-5"))),
            (OTHER, Posting(str(OTHER), eur("5"))),
        ]
        expense = record(EntryKind.EXPENSE, "5", account_id=ACCOUNT)
        assert expense.household_account_postings() == [(ACCOUNT, Posting(str(ACCOUNT), eur("-5")))]


class TestTransitions:
    def test_the_table_is_the_documented_lifecycle(self) -> None:
        table = {(src, dst) for src, targets in TRANSITIONS.items() for dst in targets}
        assert table == LEGAL
        assert set(TRANSITIONS) == set(Status)

    @pytest.mark.parametrize(("source", "target"), sorted(LEGAL))
    def test_every_legal_move_works(self, source: Status, target: Status) -> None:
        transaction = in_status(source)
        version = transaction.version
        move(transaction, target)
        assert transaction.status is target
        assert transaction.version == version + 1
        assert (
            type(transaction.pending_events[-1]).__name__
            == {
                Status.POSTED: "Posted",
                Status.DISPUTED: "Disputed",
                Status.CANCELLED: "Cancelled",
            }[target]
        )

    @pytest.mark.parametrize(
        ("source", "target"),
        sorted((s, t) for s in Status for t in TARGETS if (s, t) not in LEGAL),
    )
    def test_every_illegal_move_is_refused_and_changes_nothing(self, source: Status, target: Status) -> None:
        transaction = in_status(source)
        assert_refused_without_change(transaction, IllegalTransitionError, move, transaction, target)
        assert transaction.status is source

    def test_a_dispute_can_be_resolved_and_disputed_again(self) -> None:
        transaction = record(status=Status.PENDING)
        transaction.post()
        transaction.dispute("a")
        transaction.post()
        transaction.dispute("b")
        transaction.cancel("c")
        assert transaction.status is Status.CANCELLED
        assert transaction.version == 6

    @pytest.mark.parametrize("action", ["dispute", "cancel"])
    def test_an_oversized_reason_is_refused_and_changes_nothing(self, action: str) -> None:
        transaction = record()
        method = getattr(transaction, action)
        assert_refused_without_change(transaction, InvalidInputError, method, "r" * (MAX_TEXT + 1))
        assert transaction.status is Status.POSTED

    def test_illegal_transition_is_a_conflict(self) -> None:
        assert issubclass(IllegalTransitionError, ConflictError)
        assert IllegalTransitionError.type == "illegal-transition"


class TestEdit:
    def test_every_editable_field_can_change(self) -> None:
        transaction = record(merchant="Old", notes="old")
        transaction.edit(
            {
                "description": "New description",
                "merchant": None,
                "date": date(2024, 4, 1),
                "tags": ["b", "a"],
                "notes": "new",
            }
        )
        assert transaction.description == "New description"
        assert transaction.merchant is None
        assert transaction.date == date(2024, 4, 1)
        assert transaction.tags == ["a", "b"]
        assert transaction.notes == "new"
        assert transaction.version == 2

    def test_absent_fields_stay_as_they_are(self) -> None:
        transaction = record(merchant="Shop", tags=["x"], notes="n")
        postings = transaction.postings
        transaction.edit({"description": "only this"})
        assert transaction.merchant == "Shop"
        assert transaction.tags == ["x"]
        assert transaction.notes == "n"
        assert transaction.date == DAY
        assert transaction.postings == postings
        assert transaction.status is Status.POSTED

    def test_tags_are_trimmed_sorted_and_unique(self) -> None:
        transaction = record()
        transaction.edit({"tags": ["zeta", " alpha ", "zeta", "alpha", "mid"]})
        assert transaction.tags == ["alpha", "mid", "zeta"]

    def test_the_caller_dict_is_not_modified(self) -> None:
        changes: dict[str, Any] = {"tags": ["b", "a", "b"]}
        record().edit(changes)
        assert changes == {"tags": ["b", "a", "b"]}

    @pytest.mark.parametrize(
        "changes",
        [
            {"amount": "1.00"},
            {"postings": []},
            {"status": "posted"},
            {"category": "food"},
            {"kind": "income"},
            {"household_id": "x"},
            {"description": "ok", "amount": "1.00"},
        ],
    )
    def test_non_editable_fields_are_refused_and_change_nothing(self, changes: dict[str, Any]) -> None:
        transaction = record()
        assert_refused_without_change(
            transaction, InvalidInputError, transaction.edit, changes, match="not editable"
        )

    def test_an_empty_edit_is_refused(self) -> None:
        transaction = record()
        assert_refused_without_change(transaction, InvalidInputError, transaction.edit, {}, match="nothing")

    @pytest.mark.parametrize(
        "changes",
        [
            {"description": "d" * (MAX_TEXT + 1)},
            {"merchant": "m" * (MAX_TEXT + 1)},
            {"notes": "n" * (MAX_NOTES + 1)},
            {"tags": [""]},
            {"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]},
            {"date": "2024-01-01"},
            {"description": "fine", "date": 20240101},
        ],
    )
    def test_invalid_values_are_refused_and_change_nothing(self, changes: dict[str, Any]) -> None:
        transaction = record()
        assert_refused_without_change(transaction, InvalidInputError, transaction.edit, changes)

    @pytest.mark.parametrize("status", [Status.PENDING, Status.POSTED, Status.DISPUTED])
    def test_edits_are_allowed_until_cancelled(self, status: Status) -> None:
        transaction = in_status(status)
        transaction.edit({"notes": "checked"})
        assert transaction.notes == "checked"
        assert transaction.status is status

    def test_a_cancelled_transaction_refuses_edits(self) -> None:
        transaction = in_status(Status.CANCELLED)
        assert_refused_without_change(
            transaction, IllegalTransitionError, transaction.edit, {"notes": "late"}
        )


class TestCheckHelpers:
    def test_editable_fields(self) -> None:
        assert frozenset({"description", "merchant", "date", "tags", "notes"}) == EDITABLE_FIELDS

    def test_check_tags(self) -> None:
        assert check_tags([]) == []
        assert check_tags(["b", "a", " b "]) == ["a", "b"]

    def test_check_edit_returns_normalised_changes(self) -> None:
        assert check_edit({"tags": ["b", "a"], "notes": None}) == {"tags": ["a", "b"], "notes": None}


class TestRecategorise:
    @pytest.mark.parametrize(
        ("kind", "expected"), [(EntryKind.EXPENSE, "expenses:travel"), (EntryKind.INCOME, "income:travel")]
    )
    def test_the_nominal_posting_follows_the_category(self, kind: EntryKind, expected: str) -> None:
        transaction = record(kind, "20", account_id=ACCOUNT, category="food")
        own_before = transaction.household_account_postings()
        transaction.recategorise("travel")
        assert transaction.category == "travel"
        nominal = [p for p in transaction.postings if p.household_account_id() is None]
        assert [p.account for p in nominal] == [expected]
        assert transaction.household_account_postings() == own_before
        assert sum(p.amount.amount for p in transaction.postings) == 0
        assert isinstance(transaction.postings, tuple)
        assert transaction.version == 2

    def test_an_uncategorised_expense_gets_a_category(self) -> None:
        transaction = record(EntryKind.EXPENSE, account_id=ACCOUNT)
        assert transaction.postings[1].account == "expenses:uncategorised"
        transaction.recategorise("food")
        assert transaction.postings[1].account == "expenses:food"

    def test_a_transfer_keeps_its_postings(self) -> None:
        transaction = record(EntryKind.TRANSFER, "20", account_id=ACCOUNT, to_account_id=OTHER)
        postings = transaction.postings
        transaction.recategorise("savings")
        assert transaction.category == "savings"
        assert transaction.postings == postings

    @pytest.mark.parametrize("category", ["", "   ", "c" * 101])
    def test_a_bad_category_is_refused_and_changes_nothing(self, category: str) -> None:
        transaction = record(category="food")
        assert_refused_without_change(transaction, InvalidInputError, transaction.recategorise, category)
        assert transaction.category == "food"

    def test_a_category_of_100_characters_is_allowed(self) -> None:
        transaction = record()
        transaction.recategorise("c" * 100)
        assert transaction.category == "c" * 100

    def test_a_cancelled_transaction_cannot_be_recategorised(self) -> None:
        transaction = in_status(Status.CANCELLED)
        assert_refused_without_change(transaction, IllegalTransitionError, transaction.recategorise, "food")


class TestReplay:
    def history(self, kind: EntryKind = EntryKind.EXPENSE) -> Transaction:
        transaction = record(
            kind,
            "42.10",
            account_id=ACCOUNT,
            to_account_id=OTHER if kind is EntryKind.TRANSFER else None,
            category="food",
            merchant="Market",
            tags=["b", "a"],
            notes="first",
            status=Status.PENDING,
        )
        transaction.post()
        transaction.edit(
            {"description": "Edited", "date": date(2024, 5, 6), "tags": ["z", "y"], "merchant": None}
        )
        transaction.recategorise("travel")
        transaction.dispute("amount looks wrong")
        transaction.post()
        transaction.cancel("duplicate")
        return transaction

    @pytest.mark.parametrize("kind", list(EntryKind))
    def test_replaying_the_events_rebuilds_the_transaction(self, kind: EntryKind) -> None:
        transaction = self.history(kind)
        events = transaction.collect_events()
        assert [type(e).__name__ for e in events] == [
            "Recorded",
            "Posted",
            "Edited",
            "Recategorised",
            "Disputed",
            "Posted",
            "Cancelled",
        ]
        replayed = replay(events)
        assert_same_aggregate(replayed, transaction)
        assert replayed.status is Status.CANCELLED
        assert replayed.category == "travel"
        assert replayed.postings == transaction.postings

    @pytest.mark.parametrize("kind", list(EntryKind))
    def test_replaying_stored_events_rebuilds_the_transaction(self, kind: EntryKind) -> None:
        transaction = self.history(kind)
        replayed = replay(through_storage(transaction.collect_events()))
        assert_same_aggregate(replayed, transaction)
        assert replayed.kind is kind
        assert replayed.status is Status.CANCELLED
        assert isinstance(replayed.postings, tuple)
        assert all(isinstance(p, Posting) for p in replayed.postings)
        assert replayed.tags == ["y", "z"]
        assert replayed.date == date(2024, 5, 6)
        assert type(replayed.date) is date
        assert replayed.merchant is None

    def test_stored_edit_of_the_date_stays_a_date(self) -> None:
        transaction = record()
        transaction.edit({"date": date(2023, 12, 31)})
        replayed = replay(through_storage(transaction.collect_events()))
        assert type(replayed.date) is date
        assert not isinstance(replayed.date, datetime)
        assert replayed.date == date(2023, 12, 31)

    def test_each_event_continues_the_version_sequence(self) -> None:
        events = self.history().collect_events()
        assert [e.originator_version for e in events] == list(range(1, 8))
        assert len({e.originator_id for e in events}) == 1
