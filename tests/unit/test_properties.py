"""Properties of the domain, checked by hypothesis.

The state machine drives accounts and transactions exactly the way the write side does
(``commands/transactions.py``): record = ``Transaction.record`` on ``entry_postings`` then
``Account.post`` for each posting on a household account; cancel = ``Transaction.cancel``
then ``Account.reverse``. Aggregates are loaded by replaying their committed events and a
command's events are committed only when the whole command succeeds, as the event store
does. A small reference model predicts the outcome of every command (success, or which
DomainError) and is compared with the aggregates after every step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from ledger.account import Account, AccountKind
from ledger.errors import (
    AccountClosedError,
    AccountNotEmptyError,
    BalanceLimitError,
    CurrencyMismatchError,
    DomainError,
    IllegalTransitionError,
    InvalidInputError,
    InvalidMoneyError,
)
from ledger.money import MAX_ABS_AMOUNT, MINOR_UNITS, Money, parse_amount
from ledger.posting import EntryKind, check_balanced, entry_postings, recategorised
from ledger.transaction import Status, Transaction, check_tags
from tests.unit.support import DAY, assert_same_aggregate, replay, state, through_storage

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, database=None)

CURRENCIES = sorted(MINOR_UNITS)
TAG_ALPHABET = "abcxyz -"


@st.composite
def money(draw: st.DrawFn, *, positive: bool = False, currency: str | None = None) -> Money:
    code = currency or draw(st.sampled_from(CURRENCIES))
    units = MINOR_UNITS[code]
    limit = int(MAX_ABS_AMOUNT) * 10**units
    minor = draw(st.integers(min_value=1 if positive else -limit, max_value=limit))
    return Money.of(Decimal(minor).scaleb(-units), code)


# ---------------------------------------------------------------------------
# Money and postings


@PROPERTY_SETTINGS
@given(money())
def test_the_text_of_an_amount_parses_back_to_it(value: Money) -> None:
    parsed = parse_amount(str(value.amount), value.currency)
    assert parsed == value.amount
    assert str(parsed) == str(value.amount)
    assert Money.of(value.amount, value.currency) == value


@pytest.mark.reliability
@PROPERTY_SETTINGS
@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(CURRENCIES))
def test_floats_are_always_refused(amount: float, currency: str) -> None:
    with pytest.raises(InvalidMoneyError):
        Money.of(amount, currency)  # type: ignore[arg-type]


@pytest.mark.reliability
@PROPERTY_SETTINGS
@given(st.integers(min_value=1, max_value=10**12).filter(lambda n: n % 10 != 0), st.sampled_from(CURRENCIES))
def test_one_decimal_too_many_is_always_refused(minor: int, currency: str) -> None:
    amount = Decimal(minor).scaleb(-(MINOR_UNITS[currency] + 1))
    with pytest.raises(InvalidMoneyError):
        Money.of(amount, currency)
    with pytest.raises(InvalidMoneyError):
        parse_amount(str(amount), currency)


@PROPERTY_SETTINGS
@given(st.data())
def test_arithmetic_in_one_currency_is_exact(data: st.DataObject) -> None:
    a = data.draw(money())
    b = data.draw(money(currency=a.currency))
    if abs(a.amount) + abs(b.amount) > MAX_ABS_AMOUNT:
        # |a| + |b| is the larger of |a + b| and |a - b|: one of them leaves the range.
        out_of_range = (a.amount + b.amount, a.amount - b.amount)
        with pytest.raises(InvalidMoneyError):
            _ = a + b if abs(out_of_range[0]) > MAX_ABS_AMOUNT else a - b
        return
    assert (a + b) - b == a
    assert a + b == b + a
    assert (a - b) == -(b - a)
    assert (a + -a).is_zero()
    assert (a + b).amount == a.amount + b.amount


@PROPERTY_SETTINGS
@given(money(), money())
def test_arithmetic_across_currencies_is_refused(a: Money, b: Money) -> None:
    if a.currency == b.currency:
        if abs(a.amount + b.amount) <= MAX_ABS_AMOUNT:
            assert (a + b).currency == a.currency
    else:
        with pytest.raises(CurrencyMismatchError):
            a + b
        with pytest.raises(CurrencyMismatchError):
            a - b


@PROPERTY_SETTINGS
@given(
    st.sampled_from(EntryKind),
    money(positive=True),
    st.uuids(),
    st.uuids(),
    st.none() | st.text(alphabet="abcdefg", min_size=1, max_size=10),
    st.text(alphabet="abcdefg", min_size=1, max_size=10),
)
def test_entries_always_balance_with_the_documented_signs(
    kind: EntryKind, amount: Money, own: UUID, other: UUID, category: str | None, new_category: str
) -> None:
    if kind is EntryKind.TRANSFER and own == other:
        return
    postings = entry_postings(
        kind, amount, own, category=category, to_account_id=other if kind is EntryKind.TRANSFER else None
    )
    check_balanced(postings)
    assert len(postings) == 2
    assert postings[0].account == str(own)
    # Debit-positive: money leaves the account for an expense or a transfer, enters for an income.
    assert postings[0].amount == (amount if kind is EntryKind.INCOME else -amount)
    assert sum(p.amount.amount for p in postings) == 0

    moved = recategorised(postings, kind, new_category)
    check_balanced(moved)
    assert [p.amount for p in moved] == [p.amount for p in postings]
    assert [p for p in moved if p.household_account_id()] == [p for p in postings if p.household_account_id()]
    if kind is not EntryKind.TRANSFER:
        prefix = "expenses" if kind is EntryKind.EXPENSE else "income"
        assert moved[1].account == f"{prefix}:{new_category}"


@PROPERTY_SETTINGS
@given(st.lists(st.text(alphabet=TAG_ALPHABET, min_size=1, max_size=50), max_size=50))
def test_tags_are_normalised_or_refused(tags: list[str]) -> None:
    if any(not t.strip() for t in tags):
        with pytest.raises(InvalidInputError):
            check_tags(tags)
        return
    result = check_tags(tags)
    assert result == sorted(result)
    assert len(result) == len(set(result))
    assert set(result) == {t.strip() for t in tags}


# ---------------------------------------------------------------------------
# The ledger state machine

# The documented lifecycle (independent of ledger.transaction.TRANSITIONS).
LEGAL = {
    (Status.PENDING, Status.POSTED),
    (Status.PENDING, Status.CANCELLED),
    (Status.POSTED, Status.CANCELLED),
    (Status.POSTED, Status.DISPUTED),
    (Status.DISPUTED, Status.POSTED),
    (Status.DISPUTED, Status.CANCELLED),
}

minimums = st.sampled_from([None, Decimal("0"), Decimal("-50.00"), Decimal("-1000.00")])
amounts = st.integers(min_value=1, max_value=200_00).map(lambda cents: Decimal(cents).scaleb(-2))
categories = st.sampled_from([None, "food", "rent", "salary"])
# Now and then, a command that misuses to_account_id (missing on a transfer, present otherwise).
misuse = st.integers(min_value=0, max_value=9).map(lambda n: n == 0)

ExpectedError = type[DomainError] | None


@dataclass
class ModelAccount:
    currency: str
    minimum: Decimal | None
    balance: Decimal = Decimal(0)
    closed: bool = False

    def refusal(self, change: Decimal, currency: str, *, posting: bool) -> ExpectedError:
        """Why this account would refuse a change of its balance, if it would."""
        if self.closed:  # a closed account takes no postings and no reversals
            return AccountClosedError
        if currency != self.currency:
            return CurrencyMismatchError
        if self.minimum is not None and self.balance + change < self.minimum:
            return BalanceLimitError
        return None


@dataclass
class ModelTransaction:
    kind: EntryKind
    postings: list[tuple[UUID, Decimal]]  # the lines on household accounts
    status: Status
    category: str | None


def guarded(aggregate: Account | Transaction, method: Callable[..., None], *args: Any) -> None:
    """Call a command method; if the domain refuses it, the aggregate must be untouched."""
    before = state(aggregate)
    version = aggregate.version
    pending = len(aggregate.pending_events)
    try:
        method(*args)
    except DomainError:
        assert aggregate.version == version
        assert len(aggregate.pending_events) == pending
        assert state(aggregate) == before
        raise


def check_outcome(expected: ExpectedError, error: DomainError | None) -> None:
    if expected is None:
        assert error is None, f"unexpectedly refused: {error!r}"
    else:
        assert error is not None, f"expected {expected.__name__}, but the command succeeded"
        assert isinstance(error, expected), f"expected {expected.__name__}, got {error!r}"


class LedgerMachine(RuleBasedStateMachine):
    accounts = Bundle("accounts")
    transactions = Bundle("transactions")

    def __init__(self) -> None:
        super().__init__()
        self.household = uuid4()
        self.store: dict[UUID, list[Any]] = {}  # committed events, as the event store holds them
        self.live: dict[UUID, Any] = {}  # the aggregates as the last successful command left them
        self.model_accounts: dict[UUID, ModelAccount] = {}
        self.model_transactions: dict[UUID, ModelTransaction] = {}
        self.touched: set[UUID] = set()

    # -- plumbing: load by replay, commit all or nothing ---------------------------------

    def load(self, aggregate_id: UUID) -> Any:
        return replay(self.store[aggregate_id])

    def commit(self, *aggregates: Account | Transaction) -> None:
        for aggregate in aggregates:
            events = aggregate.collect_events()
            assert events, "a successful command records at least one event"
            self.store.setdefault(aggregate.id, []).extend(events)
            assert (
                self.store[aggregate.id][-1].originator_version
                == aggregate.version
                == len(self.store[aggregate.id])
            )
            self.live[aggregate.id] = aggregate
            self.touched.add(aggregate.id)

    def open(self, currency: str, minimum: Decimal | None) -> UUID:
        account = Account.open(self.household, "Account", AccountKind.ASSET, currency, minimum)
        self.commit(account)
        self.model_accounts[account.id] = ModelAccount(currency, minimum)
        return account.id

    # -- accounts -------------------------------------------------------------------------

    @initialize(target=accounts, limits=st.lists(minimums, min_size=2, max_size=3), usd_limit=minimums)
    def open_initial_accounts(self, limits: list[Decimal | None], usd_limit: Decimal | None) -> Any:
        opened = [self.open("EUR", minimum) for minimum in limits]
        return multiple(*opened, self.open("USD", usd_limit))

    # Closing is kept for when enough accounts remain open, or most steps would hit closed ones.
    @precondition(lambda self: sum(not a.closed for a in self.model_accounts.values()) > 2)
    @rule(account_id=accounts)
    def close_account(self, account_id: UUID) -> None:
        model = self.model_accounts[account_id]
        expected: ExpectedError = None
        if model.closed:
            expected = AccountClosedError
        elif model.balance != 0:
            expected = AccountNotEmptyError
        account = self.load(account_id)
        try:
            guarded(account, account.close)
            self.commit(account)
        except DomainError as error:
            check_outcome(expected, error)
            return
        check_outcome(expected, None)
        model.closed = True

    # -- transactions ---------------------------------------------------------------------

    def expect_record(
        self, kind: EntryKind, source: UUID, destination: UUID | None, amount: Decimal
    ) -> ExpectedError:
        if kind is EntryKind.TRANSFER:
            if destination is None or destination == source:
                return InvalidInputError
        elif destination is not None:
            return InvalidInputError
        origin = self.model_accounts[source]
        refusal = origin.refusal(
            amount if kind is EntryKind.INCOME else -amount, origin.currency, posting=True
        )
        if refusal is not None or destination is None:
            return refusal
        return self.model_accounts[destination].refusal(amount, origin.currency, posting=True)

    def record_like_the_write_side(
        self,
        kind: EntryKind,
        source: UUID,
        destination: UUID | None,
        amount: Decimal,
        category: str | None,
        status: Status,
    ) -> Transaction:
        account = self.load(source)
        to_account = None if destination is None else self.load(destination)
        postings = entry_postings(
            kind,
            Money.of(amount, account.currency),
            account.id,
            category=category,
            to_account_id=None if to_account is None else to_account.id,
        )
        transaction = Transaction.record(
            self.household, kind, postings, DAY, "entry", category=category, status=status
        )
        touched = {a.id: a for a in (account, to_account) if a is not None}
        for account_id, posting in transaction.household_account_postings():
            guarded(touched[account_id], touched[account_id].post, transaction.id, posting.amount)
        self.commit(transaction, *touched.values())
        return transaction

    @rule(
        target=transactions,
        kind=st.sampled_from(EntryKind),
        source=accounts,
        other=accounts,
        wrong=misuse,
        amount=amounts,
        category=categories,
        status=st.sampled_from([Status.PENDING, Status.POSTED]),
    )
    def record(
        self,
        kind: EntryKind,
        source: UUID,
        other: UUID,
        wrong: bool,
        amount: Decimal,
        category: str | None,
        status: Status,
    ) -> Any:
        destination = other if (kind is EntryKind.TRANSFER) != wrong else None
        expected = self.expect_record(kind, source, destination, amount)
        try:
            transaction = self.record_like_the_write_side(kind, source, destination, amount, category, status)
        except DomainError as error:
            check_outcome(expected, error)
            return multiple()
        check_outcome(expected, None)
        lines = [(source, amount if kind is EntryKind.INCOME else -amount)]
        if destination is not None:
            lines.append((destination, amount))
        for account_id, change in lines:
            self.model_accounts[account_id].balance += change
        self.model_transactions[transaction.id] = ModelTransaction(kind, lines, status, category)
        return transaction.id

    def expect_move(self, transaction_id: UUID, to: Status) -> ExpectedError:
        model = self.model_transactions[transaction_id]
        if (model.status, to) not in LEGAL:
            return IllegalTransitionError
        if to is not Status.CANCELLED:
            return None
        for account_id, change in model.postings:
            account = self.model_accounts[account_id]
            refusal = account.refusal(-change, account.currency, posting=False)
            if refusal is not None:
                return refusal
        return None

    @rule(transaction_id=transactions)
    def cancel(self, transaction_id: UUID) -> None:
        expected = self.expect_move(transaction_id, Status.CANCELLED)
        try:
            transaction = self.load(transaction_id)
            guarded(transaction, transaction.cancel, "random cancel")
            touched = []
            for account_id, posting in transaction.household_account_postings():
                account = self.load(account_id)
                guarded(account, account.reverse, transaction.id, posting.amount)
                touched.append(account)
            self.commit(transaction, *touched)
        except DomainError as error:
            check_outcome(expected, error)
            return
        check_outcome(expected, None)
        model = self.model_transactions[transaction_id]
        model.status = Status.CANCELLED
        for account_id, change in model.postings:
            self.model_accounts[account_id].balance -= change

    @rule(transaction_id=transactions, to=st.sampled_from([Status.POSTED, Status.DISPUTED]))
    def post_or_dispute(self, transaction_id: UUID, to: Status) -> None:
        expected = self.expect_move(transaction_id, to)
        transaction = self.load(transaction_id)
        try:
            if to is Status.POSTED:
                guarded(transaction, transaction.post)
            else:
                guarded(transaction, transaction.dispute, "random dispute")
            self.commit(transaction)
        except DomainError as error:
            check_outcome(expected, error)
            return
        check_outcome(expected, None)
        self.model_transactions[transaction_id].status = to

    @rule(transaction_id=transactions, category=st.sampled_from(["food", "travel", "salary"]))
    def recategorise(self, transaction_id: UUID, category: str) -> None:
        model = self.model_transactions[transaction_id]
        expected = IllegalTransitionError if model.status is Status.CANCELLED else None
        transaction = self.load(transaction_id)
        try:
            guarded(transaction, transaction.recategorise, category)
            self.commit(transaction)
        except DomainError as error:
            check_outcome(expected, error)
            return
        check_outcome(expected, None)
        model.category = category

    @rule(transaction_id=transactions, tags=st.lists(st.sampled_from(["a", "b", " c "]), max_size=4))
    def edit_tags(self, transaction_id: UUID, tags: list[str]) -> None:
        model = self.model_transactions[transaction_id]
        expected = IllegalTransitionError if model.status is Status.CANCELLED else None
        transaction = self.load(transaction_id)
        try:
            guarded(transaction, transaction.edit, {"tags": tags, "description": "edited"})
            self.commit(transaction)
        except DomainError as error:
            check_outcome(expected, error)
            return
        check_outcome(expected, None)
        assert self.live[transaction_id].tags == sorted({t.strip() for t in tags})

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def accounts_match_the_model_and_respect_their_limits(self) -> None:
        for account_id, model in self.model_accounts.items():
            account = self.live[account_id]
            assert account.balance == model.balance
            assert account.is_closed is model.closed
            assert account.currency == model.currency
            if account.minimum_balance is not None:
                assert account.balance >= account.minimum_balance
            assert account.pending_events == []

    @invariant()
    def transactions_balance_and_match_the_model(self) -> None:
        for transaction_id, model in self.model_transactions.items():
            transaction = self.live[transaction_id]
            assert transaction.status is model.status
            assert transaction.category == model.category
            assert len(transaction.postings) >= 2
            totals: dict[str, Decimal] = defaultdict(Decimal)
            for posting in transaction.postings:
                totals[posting.amount.currency] += posting.amount.amount
            assert all(total == 0 for total in totals.values()), totals
            lines = [(a, p.amount.amount) for a, p in transaction.household_account_postings()]
            assert lines == model.postings
            if model.kind is not EntryKind.TRANSFER:
                prefix = "expenses" if model.kind is EntryKind.EXPENSE else "income"
                nominal = [p.account for p in transaction.postings if p.household_account_id() is None]
                assert nominal == [f"{prefix}:{model.category or 'uncategorised'}"]

    @invariant()
    def balances_are_the_sum_of_the_postings_still_in_force(self) -> None:
        expected: dict[UUID, Decimal] = defaultdict(Decimal)
        for transaction_id in self.model_transactions:
            transaction = self.live[transaction_id]
            if transaction.status is Status.CANCELLED:
                continue
            for account_id, posting in transaction.household_account_postings():
                expected[account_id] += posting.amount.amount
        for account_id in self.model_accounts:
            assert self.live[account_id].balance == expected[account_id]

    @invariant()
    def replaying_reproduces_what_just_changed(self) -> None:
        for aggregate_id in sorted(self.touched):
            events = self.store[aggregate_id]
            assert_same_aggregate(replay(events), self.live[aggregate_id])
            assert_same_aggregate(replay(through_storage(events)), self.live[aggregate_id])
        self.touched.clear()

    def teardown(self) -> None:
        for aggregate_id, events in self.store.items():
            assert_same_aggregate(replay(through_storage(events)), self.live[aggregate_id])


LedgerMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None, database=None
)
TestLedgerMachine = pytest.mark.reliability(LedgerMachine.TestCase)


def test_the_model_predicts_a_cancel_refused_by_the_minimum() -> None:
    """A hand-written run of the machine: the cancel of an income already spent is refused."""
    machine = LedgerMachine()
    checking, *_ = machine.open_initial_accounts([Decimal("0"), None, None], None).values
    income = machine.record(EntryKind.INCOME, checking, checking, False, Decimal("100"), None, Status.POSTED)
    machine.record(EntryKind.EXPENSE, checking, checking, False, Decimal("80"), "food", Status.POSTED)
    before = list(machine.store[income])
    machine.cancel(income)  # refused: the balance would become -80
    assert machine.store[income] == before
    assert machine.live[checking].balance == Decimal("20")
    assert machine.model_transactions[income].status is Status.POSTED
    machine.accounts_match_the_model_and_respect_their_limits()
    machine.balances_are_the_sum_of_the_postings_still_in_force()
    machine.replaying_reproduces_what_just_changed()
    machine.teardown()
