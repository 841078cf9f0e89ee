"""The Account aggregate: lifecycle, balance, limits; a refused command changes nothing."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from ledger.account import MAX_NAME_LENGTH, Account, AccountKind, check_name
from ledger.errors import (
    AccountClosedError,
    AccountNotEmptyError,
    BalanceLimitError,
    ConflictError,
    CurrencyMismatchError,
    InvalidInputError,
    InvalidMoneyError,
)
from ledger.money import Money
from tests.unit.support import (
    assert_refused_without_change,
    assert_same_aggregate,
    eur,
    open_account,
    replay,
    through_storage,
)


class TestOpen:
    def test_a_new_account_is_open_and_empty(self) -> None:
        household = uuid4()
        account = Account.open(household, "  Checking  ", AccountKind.ASSET, "EUR", Decimal("-100"))
        assert account.household_id == household
        assert account.name == "Checking"
        assert account.kind is AccountKind.ASSET
        assert account.currency == "EUR"
        assert account.minimum_balance == Decimal("-100.00")
        assert account.balance == 0
        assert account.is_closed is False
        assert account.version == 1
        events = account.collect_events()
        assert [type(e).__name__ for e in events] == ["Opened"]

    def test_no_minimum_balance_by_default(self) -> None:
        account = Account.open(uuid4(), "Card", AccountKind.LIABILITY, "USD")
        assert account.minimum_balance is None

    def test_zero_minimum_balance_is_allowed(self) -> None:
        account = open_account(minimum_balance=Decimal("-0"))
        assert account.minimum_balance == 0
        assert not account.minimum_balance.is_signed()

    def test_kind_given_as_text_becomes_the_enum(self) -> None:
        account = Account.open(uuid4(), "Pot", "equity", "EUR")  # type: ignore[arg-type]
        assert account.kind is AccountKind.EQUITY

    def test_each_account_gets_its_own_id(self) -> None:
        assert open_account().id != open_account().id

    @pytest.mark.parametrize("minimum", ["0.01", "100"])
    def test_a_positive_minimum_balance_is_refused(self, minimum: str) -> None:
        with pytest.raises(InvalidInputError, match="zero or negative"):
            open_account(minimum_balance=Decimal(minimum))

    @pytest.mark.parametrize("minimum", [Decimal("-1.234"), -10.0, Decimal("NaN")])
    def test_an_invalid_minimum_balance_is_refused(self, minimum: Decimal) -> None:
        with pytest.raises(InvalidMoneyError):
            open_account(minimum_balance=minimum)

    def test_minimum_balance_follows_the_currency_decimals(self) -> None:
        with pytest.raises(InvalidMoneyError):
            open_account(currency="JPY", minimum_balance=Decimal("-0.5"))
        assert open_account(currency="JPY", minimum_balance=Decimal("-500")).minimum_balance == -500

    def test_an_unknown_currency_is_refused(self) -> None:
        with pytest.raises(InvalidMoneyError, match="unknown currency"):
            open_account(currency="ECU")

    @pytest.mark.parametrize("name", ["", "   ", "x" * (MAX_NAME_LENGTH + 1)])
    def test_a_bad_name_is_refused(self, name: str) -> None:
        with pytest.raises(InvalidInputError, match="name"):
            open_account(name=name)


class TestCheckName:
    def test_trims(self) -> None:
        assert check_name("  Savings \n") == "Savings"

    def test_limit_is_inclusive(self) -> None:
        assert check_name("x" * MAX_NAME_LENGTH) == "x" * MAX_NAME_LENGTH
        assert check_name(" " + "x" * MAX_NAME_LENGTH + " ") == "x" * MAX_NAME_LENGTH


class TestRename:
    def test_rename(self) -> None:
        account = open_account()
        account.rename("  Joint  ")
        assert account.name == "Joint"
        assert account.version == 2
        assert [type(e).__name__ for e in account.collect_events()] == ["Opened", "Renamed"]

    @pytest.mark.parametrize("name", ["", " ", "y" * (MAX_NAME_LENGTH + 1)])
    def test_a_bad_name_is_refused_and_changes_nothing(self, name: str) -> None:
        account = open_account()
        assert_refused_without_change(account, InvalidInputError, account.rename, name)
        assert account.name == "Checking"

    def test_a_closed_account_cannot_be_renamed(self) -> None:
        account = open_account()
        account.close()
        assert_refused_without_change(account, AccountClosedError, account.rename, "New")


class TestClose:
    def test_an_empty_account_closes(self) -> None:
        account = open_account()
        account.close()
        assert account.is_closed is True
        assert account.version == 2

    def test_an_account_emptied_again_closes(self) -> None:
        account = open_account()
        account.post(uuid4(), eur("10"))
        account.post(uuid4(), eur("-10"))
        account.close()
        assert account.is_closed

    @pytest.mark.parametrize("amount", ["0.01", "-0.01"])
    def test_a_non_zero_balance_is_refused_and_changes_nothing(self, amount: str) -> None:
        account = open_account()
        account.post(uuid4(), eur(amount))
        assert_refused_without_change(account, AccountNotEmptyError, account.close)
        assert account.is_closed is False

    def test_closing_twice_is_refused(self) -> None:
        account = open_account()
        account.close()
        assert_refused_without_change(account, AccountClosedError, account.close)


class TestPost:
    def test_postings_change_the_balance(self) -> None:
        account = open_account()
        account.post(uuid4(), eur("100"))
        account.post(uuid4(), eur("-30.5"))
        assert account.balance == Decimal("69.50")
        assert account.version == 3
        events = account.collect_events()
        assert [type(e).__name__ for e in events] == ["Opened", "PostingApplied", "PostingApplied"]

    def test_the_event_records_the_transaction_and_the_amount(self) -> None:
        account = open_account()
        transaction_id = uuid4()
        account.post(transaction_id, eur("7.25"))
        event = account.collect_events()[-1]
        assert event.transaction_id == transaction_id  # type: ignore[attr-defined]
        assert event.amount == Decimal("7.25")  # type: ignore[attr-defined]

    def test_without_minimum_the_balance_may_go_negative(self) -> None:
        account = open_account(minimum_balance=None)
        account.post(uuid4(), eur("-1000000"))
        assert account.balance == Decimal("-1000000")

    def test_a_closed_account_refuses_postings(self) -> None:
        account = open_account()
        account.close()
        assert_refused_without_change(account, AccountClosedError, account.post, uuid4(), eur("1"))

    def test_another_currency_is_refused(self) -> None:
        account = open_account(currency="EUR")
        usd = Money.of(Decimal("1"), "USD")
        assert_refused_without_change(account, CurrencyMismatchError, account.post, uuid4(), usd)

    def test_posting_down_to_exactly_the_minimum_is_allowed(self) -> None:
        account = open_account(minimum_balance=Decimal("-50"))
        account.post(uuid4(), eur("-50"))
        assert account.balance == Decimal("-50")

    @pytest.mark.parametrize(("minimum", "amount"), [("0", "-0.01"), ("-50", "-50.01"), ("0", "-100")])
    def test_going_below_the_minimum_is_refused_and_changes_nothing(self, minimum: str, amount: str) -> None:
        account = open_account(minimum_balance=Decimal(minimum))
        with pytest.raises(BalanceLimitError) as caught:
            account.post(uuid4(), eur(amount))
        assert caught.value.extra == {
            "balance": "0",
            "minimum_balance": str(Decimal(minimum).quantize(Decimal("0.01"))),
        }
        assert_refused_without_change(account, BalanceLimitError, account.post, uuid4(), eur(amount))
        assert account.balance == 0

    def test_the_limit_applies_to_the_running_balance(self) -> None:
        account = open_account(minimum_balance=Decimal("0"))
        account.post(uuid4(), eur("20"))
        account.post(uuid4(), eur("-15"))
        assert_refused_without_change(account, BalanceLimitError, account.post, uuid4(), eur("-5.01"))
        account.post(uuid4(), eur("-5"))
        assert account.balance == 0

    def test_deposits_are_allowed_whatever_the_minimum(self) -> None:
        account = open_account(minimum_balance=Decimal("0"))
        account.post(uuid4(), eur("0.01"))
        assert account.balance == Decimal("0.01")


class TestReverse:
    def test_reverse_takes_a_posting_back(self) -> None:
        account = open_account()
        transaction_id = uuid4()
        account.post(transaction_id, eur("-40"))
        account.reverse(transaction_id, eur("-40"))
        assert account.balance == 0
        events = account.collect_events()
        assert type(events[-1]).__name__ == "PostingReversed"
        assert events[-1].amount == Decimal("-40")  # type: ignore[attr-defined]

    def test_reverse_is_refused_on_a_closed_account_so_its_balance_stays_zero(self) -> None:
        account = open_account()
        transaction_id = uuid4()
        account.post(transaction_id, eur("-10"))
        account.post(uuid4(), eur("10"))
        account.close()
        assert_refused_without_change(
            account, AccountClosedError, account.reverse, transaction_id, eur("-10")
        )
        assert account.is_closed
        assert account.balance == Decimal("0")

    def test_reverse_that_would_break_the_minimum_is_refused_and_changes_nothing(self) -> None:
        account = open_account(minimum_balance=Decimal("0"))
        income = uuid4()
        account.post(income, eur("100"))
        account.post(uuid4(), eur("-60"))
        # Taking the 100 income back would leave -60.
        assert_refused_without_change(account, BalanceLimitError, account.reverse, income, eur("100"))
        assert account.balance == Decimal("40")

    def test_reverse_down_to_exactly_the_minimum_is_allowed(self) -> None:
        account = open_account(minimum_balance=Decimal("-10"))
        income = uuid4()
        account.post(income, eur("100"))
        account.post(uuid4(), eur("-110"))
        with pytest.raises(BalanceLimitError):
            account.reverse(income, eur("100"))
        account.post(uuid4(), eur("100"))
        account.reverse(income, eur("100"))
        assert account.balance == Decimal("-10")

    def test_reverse_in_another_currency_is_refused(self) -> None:
        account = open_account()
        usd = Money.of(Decimal("1"), "USD")
        assert_refused_without_change(account, CurrencyMismatchError, account.reverse, uuid4(), usd)


def test_conflict_errors_are_conflicts() -> None:
    for error in (AccountClosedError, AccountNotEmptyError, BalanceLimitError):
        assert issubclass(error, ConflictError)
    assert BalanceLimitError.type == "balance-limit"


class TestReplay:
    def full_history(self) -> Account:
        account = open_account(name="Everyday", minimum_balance=Decimal("-25"))
        first, second = uuid4(), uuid4()
        account.post(first, eur("100"))
        account.post(second, eur("-125"))
        account.reverse(second, eur("-125"))
        account.post(uuid4(), eur("-100"))
        account.rename("Old everyday")
        account.close()
        return account

    def test_replaying_the_events_rebuilds_the_account(self) -> None:
        account = self.full_history()
        events = account.collect_events()
        assert len(events) == account.version == 7
        replayed = replay(events)
        assert_same_aggregate(replayed, account)
        assert replayed.name == "Old everyday"
        assert replayed.balance == 0
        assert replayed.minimum_balance == Decimal("-25.00")
        assert replayed.is_closed is True
        assert replayed.kind is AccountKind.ASSET

    def test_replaying_stored_events_rebuilds_the_account(self) -> None:
        account = self.full_history()
        replayed = replay(through_storage(account.collect_events()))
        assert_same_aggregate(replayed, account)
        assert isinstance(replayed.balance, Decimal)
        assert isinstance(replayed.minimum_balance, Decimal)
        assert replayed.kind is AccountKind.ASSET

    def test_replaying_a_prefix_gives_the_state_at_that_version(self) -> None:
        account = open_account()
        account.post(uuid4(), eur("5"))
        events = list(account.collect_events())
        account.post(uuid4(), eur("7"))
        events += account.collect_events()
        partial = replay(events[:2])
        assert partial.version == 2
        assert partial.balance == Decimal("5")

    def test_refused_commands_leave_no_event_behind(self) -> None:
        account = open_account(minimum_balance=Decimal("0"))
        for action, args in (
            (account.post, (uuid4(), eur("-1"))),
            (account.rename, ("",)),
            (account.post, (uuid4(), Money.of(Decimal("1"), "USD"))),
        ):
            with pytest.raises((BalanceLimitError, InvalidInputError)):
                action(*args)
        account.post(uuid4(), eur("1"))
        with pytest.raises(AccountNotEmptyError):
            account.close()
        events = account.collect_events()
        assert [e.originator_version for e in events] == [1, 2]
        assert_same_aggregate(replay(events), account)
