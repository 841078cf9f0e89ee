"""Postings: plain entries become balanced, debit-positive double-entry lines."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from ledger.errors import CurrencyMismatchError, InvalidInputError, InvalidMoneyError
from ledger.money import Money
from ledger.posting import (
    UNCATEGORISED,
    EntryKind,
    Posting,
    check_balanced,
    check_same_currency,
    entry_postings,
    nominal_account,
    recategorised,
)
from tests.unit.support import eur

ACCOUNT = UUID("11111111-1111-4111-8111-111111111111")
OTHER = UUID("22222222-2222-4222-8222-222222222222")


def totals(postings: tuple[Posting, ...]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for posting in postings:
        sums[posting.amount.currency] += posting.amount.amount
    return dict(sums)


class TestPosting:
    def test_a_household_account_posting_knows_its_account_id(self) -> None:
        assert Posting(str(ACCOUNT), eur("1")).household_account_id() == ACCOUNT

    @pytest.mark.parametrize("account", ["expenses:food", "income:uncategorised", "expenses:", ""])
    def test_a_nominal_posting_has_no_household_account_id(self, account: str) -> None:
        assert Posting(account, eur("1")).household_account_id() is None


class TestNominalAccount:
    @pytest.mark.parametrize(
        ("kind", "category", "expected"),
        [
            (EntryKind.EXPENSE, "food", "expenses:food"),
            (EntryKind.EXPENSE, None, "expenses:uncategorised"),
            (EntryKind.EXPENSE, "", "expenses:uncategorised"),
            (EntryKind.INCOME, "salary", "income:salary"),
            (EntryKind.INCOME, None, "income:uncategorised"),
        ],
    )
    def test_names(self, kind: EntryKind, category: str | None, expected: str) -> None:
        assert nominal_account(kind, category) == expected

    def test_uncategorised_constant(self) -> None:
        assert UNCATEGORISED == "uncategorised"


class TestEntryPostings:
    def test_expense_takes_money_out_of_the_account_into_an_expense(self) -> None:
        postings = entry_postings(EntryKind.EXPENSE, eur("12.34"), ACCOUNT, category="food")
        assert postings == (
            Posting(str(ACCOUNT), eur("-12.34")),
            Posting("expenses:food", eur("12.34")),
        )
        assert totals(postings) == {"EUR": 0}

    def test_income_puts_money_into_the_account_from_an_income(self) -> None:
        postings = entry_postings(EntryKind.INCOME, eur("1000"), ACCOUNT, category="salary")
        assert postings == (
            Posting(str(ACCOUNT), eur("1000")),
            Posting("income:salary", eur("-1000")),
        )
        assert totals(postings) == {"EUR": 0}

    def test_transfer_moves_money_between_two_household_accounts(self) -> None:
        postings = entry_postings(EntryKind.TRANSFER, eur("50"), ACCOUNT, to_account_id=OTHER)
        assert postings == (
            Posting(str(ACCOUNT), eur("-50")),
            Posting(str(OTHER), eur("50")),
        )
        assert [p.household_account_id() for p in postings] == [ACCOUNT, OTHER]
        assert totals(postings) == {"EUR": 0}

    @pytest.mark.parametrize(
        ("kind", "expected"),
        [(EntryKind.EXPENSE, "expenses:uncategorised"), (EntryKind.INCOME, "income:uncategorised")],
    )
    def test_without_category_the_counter_account_is_uncategorised(
        self, kind: EntryKind, expected: str
    ) -> None:
        postings = entry_postings(kind, eur("1"), ACCOUNT)
        assert postings[1].account == expected
        assert postings[1].household_account_id() is None

    def test_transfer_ignores_the_category(self) -> None:
        postings = entry_postings(EntryKind.TRANSFER, eur("5"), ACCOUNT, category="food", to_account_id=OTHER)
        assert all(p.household_account_id() is not None for p in postings)

    def test_postings_keep_the_currency(self) -> None:
        yen = Money.of(Decimal("1500"), "JPY")
        postings = entry_postings(EntryKind.EXPENSE, yen, ACCOUNT)
        assert {p.amount.currency for p in postings} == {"JPY"}
        assert totals(postings) == {"JPY": 0}

    @pytest.mark.parametrize("kind", list(EntryKind))
    @pytest.mark.parametrize("amount", ["0", "-0.01", "-12"])
    def test_zero_or_negative_amounts_are_refused(self, kind: EntryKind, amount: str) -> None:
        with pytest.raises(InvalidMoneyError, match="positive"):
            entry_postings(
                kind, eur(amount), ACCOUNT, to_account_id=OTHER if kind is EntryKind.TRANSFER else None
            )

    def test_transfer_to_the_same_account_is_refused(self) -> None:
        with pytest.raises(InvalidInputError, match="two different accounts"):
            entry_postings(EntryKind.TRANSFER, eur("1"), ACCOUNT, to_account_id=ACCOUNT)

    def test_transfer_without_destination_is_refused(self) -> None:
        with pytest.raises(InvalidInputError, match="needs to_account_id"):
            entry_postings(EntryKind.TRANSFER, eur("1"), ACCOUNT)

    @pytest.mark.parametrize("kind", [EntryKind.EXPENSE, EntryKind.INCOME])
    def test_destination_on_a_non_transfer_is_refused(self, kind: EntryKind) -> None:
        with pytest.raises(InvalidInputError, match="only for transfers"):
            entry_postings(kind, eur("1"), ACCOUNT, to_account_id=OTHER)

    def test_entry_postings_pass_check_balanced(self) -> None:
        for kind in EntryKind:
            to = OTHER if kind is EntryKind.TRANSFER else None
            check_balanced(entry_postings(kind, eur("0.01"), ACCOUNT, to_account_id=to))


class TestCheckBalanced:
    def test_balanced_postings_pass(self) -> None:
        check_balanced((Posting("a", eur("1")), Posting("b", eur("-0.40")), Posting("c", eur("-0.60"))))

    def test_each_currency_balances_on_its_own(self) -> None:
        usd = Money.of(Decimal("2"), "USD")
        check_balanced(
            (Posting("a", eur("1")), Posting("b", eur("-1")), Posting("c", usd), Posting("d", -usd))
        )

    def test_unbalanced_postings_are_refused(self) -> None:
        with pytest.raises(InvalidInputError, match="do not balance"):
            check_balanced((Posting("a", eur("1")), Posting("b", eur("-0.99"))))

    def test_currencies_do_not_offset_each_other(self) -> None:
        usd = Money.of(Decimal("1"), "USD")
        with pytest.raises(InvalidInputError, match="do not balance"):
            check_balanced((Posting("a", eur("1")), Posting("b", -usd)))

    @pytest.mark.parametrize("count", [0, 1])
    def test_fewer_than_two_postings_are_refused(self, count: int) -> None:
        postings = (Posting("a", eur("0")),) * count
        with pytest.raises(InvalidInputError, match="at least two postings"):
            check_balanced(postings)


class TestRecategorised:
    @pytest.mark.parametrize(
        ("kind", "expected"), [(EntryKind.EXPENSE, "expenses:travel"), (EntryKind.INCOME, "income:travel")]
    )
    def test_only_the_nominal_account_is_renamed(self, kind: EntryKind, expected: str) -> None:
        before = entry_postings(kind, eur("9.99"), ACCOUNT, category="food")
        after = recategorised(before, kind, "travel")
        assert after[0] == before[0]
        assert after[1] == Posting(expected, before[1].amount)
        assert totals(after) == totals(before) == {"EUR": 0}
        check_balanced(after)

    def test_transfer_postings_stay_as_they_are(self) -> None:
        before = entry_postings(EntryKind.TRANSFER, eur("9.99"), ACCOUNT, to_account_id=OTHER)
        assert recategorised(before, EntryKind.TRANSFER, "travel") == before

    def test_household_postings_are_kept_whatever_their_position(self) -> None:
        own = Posting(str(uuid4()), eur("-3"))
        postings = (Posting("expenses:a", eur("1")), own, Posting("expenses:b", eur("2")))
        after = recategorised(postings, EntryKind.EXPENSE, "c")
        assert after == (Posting("expenses:c", eur("1")), own, Posting("expenses:c", eur("2")))


class TestCheckSameCurrency:
    def test_returns_the_single_currency(self) -> None:
        postings = entry_postings(EntryKind.EXPENSE, eur("1"), ACCOUNT)
        assert check_same_currency(postings) == "EUR"

    def test_mixed_currencies_are_refused(self) -> None:
        postings = (Posting("a", eur("1")), Posting("b", Money.of(Decimal("-1"), "USD")))
        with pytest.raises(CurrencyMismatchError, match="mix currencies"):
            check_same_currency(postings)

    def test_no_postings_have_no_currency(self) -> None:
        with pytest.raises(CurrencyMismatchError):
            check_same_currency(())
