"""Household settlement: exact splits, who owes whom, and the split book's guards."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import ConflictError, CurrencyMismatchError, InvalidInputError, NotFoundError
from ledger.money import MINOR_UNITS, Money
from ledger.settlement import SplitBook, split, split_book_id, who_owes_whom
from tests.unit.support import assert_refused_without_change, assert_same_aggregate, replay, through_storage

A, B, C, D = (UUID(int=n) for n in (1, 2, 3, 4))
HOUSEHOLD = UUID(int=99)
MEMBERS = frozenset({A, B, C})
T1, T2 = UUID(int=101), UUID(int=102)

members = st.integers(min_value=1, max_value=2**64).map(lambda n: UUID(int=n))
weights = st.dictionaries(
    members,
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3),
    min_size=1,
    max_size=8,
)
currencies = st.sampled_from(["EUR", "JPY", "KWD"])


@st.composite
def amounts(draw: st.DrawFn) -> Money:
    currency = draw(currencies)
    units = draw(st.integers(min_value=0, max_value=10**12))
    return Money.of(Decimal(units).scaleb(-MINOR_UNITS[currency]), currency)


def eur(text: str) -> Money:
    return Money.of(Decimal(text), "EUR")


@given(amounts(), weights)
def test_split_is_exact_fair_and_deterministic(amount: Money, w: dict[UUID, Decimal]) -> None:
    shares = split(amount, w)
    assert set(shares) == set(w)
    assert sum((s.amount for s in shares.values()), Decimal(0)) == amount.amount
    unit = Fraction(Decimal(1).scaleb(-MINOR_UNITS[amount.currency]))
    total = sum(Fraction(x) for x in w.values())
    for member, share in shares.items():
        assert share.currency == amount.currency
        assert share.amount >= 0
        assert Fraction(share.amount) % unit == 0  # whole minor units
        assert abs(Fraction(share.amount) - Fraction(amount.amount) * Fraction(w[member]) / total) < unit
    assert split(amount, dict(reversed(list(w.items())))) == shares


def test_split_gives_left_over_units_to_the_largest_remainders_then_lower_ids() -> None:
    assert split(eur("100.00"), {C: Decimal(1), B: Decimal(1), A: Decimal(1)}) == {
        A: eur("33.34"),
        B: eur("33.33"),
        C: eur("33.33"),
    }
    # exact 0.0333.., 0.0666..: the larger remainder (B's .66) takes the cent
    assert split(eur("0.10"), {A: Decimal(1), B: Decimal(2)}) == {A: eur("0.03"), B: eur("0.07")}
    assert split(Money.of(Decimal(5), "JPY"), {A: Decimal("0.5"), B: Decimal("0.5")})[A].amount == 3


@pytest.mark.parametrize("bad", [{}, {A: Decimal(0)}, {A: Decimal(1), B: Decimal(-1)}, {A: Decimal("NaN")}])
def test_split_refuses_bad_weights(bad: dict[UUID, Decimal]) -> None:
    with pytest.raises(InvalidInputError):
        split(eur("1.00"), bad)


@st.composite
def balances(draw: st.DrawFn) -> dict[UUID, Decimal]:
    people = draw(st.lists(members, min_size=1, max_size=10, unique=True))
    cents = draw(st.lists(st.integers(-(10**9), 10**9), min_size=len(people), max_size=len(people)))
    cents[-1] = -sum(cents[:-1])
    return {p: Decimal(c).scaleb(-2) for p, c in zip(people, cents, strict=True)}


@given(balances())
def test_who_owes_whom_settles_every_balance_in_at_most_n_minus_one_transfers(
    owed: dict[UUID, Decimal],
) -> None:
    transfers = who_owes_whom(owed)
    left = dict(owed)
    for debtor, creditor, amount in transfers:
        assert debtor != creditor
        assert amount > 0
        assert owed[debtor] < 0 < owed[creditor]  # debtors pay, creditors receive
        left[debtor] += amount
        left[creditor] -= amount
    assert all(v == 0 for v in left.values())
    assert len(transfers) <= max(0, len([v for v in owed.values() if v != 0]) - 1)
    assert who_owes_whom(dict(reversed(list(owed.items())))) == transfers


def test_who_owes_whom_pays_the_largest_creditor_first() -> None:
    owed = {A: Decimal("60"), B: Decimal("-20"), C: Decimal("-40"), D: Decimal(0)}
    assert who_owes_whom(owed) == [(C, A, Decimal("40")), (B, A, Decimal("20"))]
    with pytest.raises(InvalidInputError):
        who_owes_whom({A: Decimal(1), B: Decimal(0)})


def book() -> SplitBook:
    opened = SplitBook.open(HOUSEHOLD)
    opened.share(T1, A, eur("90.00"), "equal", [A, B, C], None, MEMBERS)
    return opened


def test_the_book_has_a_deterministic_id_and_records_the_exact_shares() -> None:
    b = book()
    assert b.id == split_book_id(HOUSEHOLD) == SplitBook.open(HOUSEHOLD).id
    assert b.shared[T1].shares == {A: eur("30.00"), B: eur("30.00"), C: eur("30.00")}
    b.share(T2, B, eur("10.00"), "ratio", [], {A: Decimal(3), C: Decimal(1)}, MEMBERS)
    assert b.shared[T2].shares == {A: eur("7.50"), C: eur("2.50")}
    b.set_incomes({A: eur("3000"), B: eur("1000")}, MEMBERS)
    b.unshare(T2)
    b.share(T2, C, eur("1.00"), "income", [A, B], None, MEMBERS)
    assert b.shared[T2].shares == {A: eur("0.75"), B: eur("0.25")}
    b.settle_up(B, A, eur("30.00"), None, MEMBERS)
    assert b.settle_ups == 1
    assert_same_aggregate(replay(through_storage(b.collect_events())), b)


def test_refusals_leave_the_book_unchanged() -> None:
    b = book()
    equal = "equal"
    refusals: list[tuple[type[Exception], tuple[object, ...]]] = [
        (ConflictError, (b.share, T1, A, eur("1.00"), equal, [A, B], None, MEMBERS)),  # shared twice
        (NotFoundError, (b.share, T2, A, eur("1.00"), equal, [A, D], None, MEMBERS)),  # not a member
        (NotFoundError, (b.share, T2, D, eur("1.00"), equal, [A, B], None, MEMBERS)),  # payer not one
        (InvalidInputError, (b.share, T2, A, eur("0.00"), equal, [A, B], None, MEMBERS)),
        (InvalidInputError, (b.share, T2, A, eur("1.00"), "ratio", [A], {A: Decimal(0)}, MEMBERS)),
        (InvalidInputError, (b.share, T2, A, eur("1.00"), "ratio", [A, B], {A: Decimal(1)}, MEMBERS)),
        (InvalidInputError, (b.share, T2, A, eur("1.00"), "ratio", [A, B], None, MEMBERS)),
        (InvalidInputError, (b.share, T2, A, eur("1.00"), equal, [A, B], {A: Decimal(1)}, MEMBERS)),
        (InvalidInputError, (b.share, T2, A, eur("1.00"), equal, [A, A], None, MEMBERS)),
        (InvalidInputError, (b.share, T2, A, eur("1.00"), "income", [A, B], None, MEMBERS)),  # no incomes
        (InvalidInputError, (b.share, T2, A, eur("1.00"), "thirds", [A, B], None, MEMBERS)),
        (NotFoundError, (b.unshare, T2)),
        (InvalidInputError, (b.settle_up, A, A, eur("5.00"), None, MEMBERS)),  # to oneself
        (InvalidInputError, (b.settle_up, A, B, eur("0.00"), None, MEMBERS)),
        (NotFoundError, (b.settle_up, A, D, eur("5.00"), None, MEMBERS)),
        (InvalidInputError, (b.set_incomes, {A: eur("0.00")}, MEMBERS)),
        (CurrencyMismatchError, (b.set_incomes, {A: eur("1.00"), B: Money.of(Decimal(1), "USD")}, MEMBERS)),
        (NotFoundError, (b.set_incomes, {D: eur("1.00")}, MEMBERS)),
    ]
    for error, (action, *args) in refusals:
        assert_refused_without_change(b, error, action, *args)  # type: ignore[arg-type]


def test_income_split_needs_every_member_to_have_an_income() -> None:
    b = book()
    b.set_incomes({A: eur("2000.00")}, MEMBERS)
    assert_refused_without_change(
        b, InvalidInputError, b.share, T2, A, eur("1.00"), "income", [A, B], None, MEMBERS, match=str(B)
    )
