"""Money: exact decimals in a known currency, never floats, never mixed currencies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.errors import CurrencyMismatchError, DomainError, InvalidInputError, InvalidMoneyError
from ledger.money import MAX_ABS_AMOUNT, MINOR_UNITS, Money, check_currency, parse_amount


class TestConstruction:
    @pytest.mark.parametrize("amount", [12.3, 0.0, 1.0, float("nan"), True, False, "12.30", None])
    def test_only_decimals_are_accepted(self, amount: object) -> None:
        with pytest.raises(InvalidMoneyError, match="exact decimals"):
            Money.of(amount, "EUR")  # type: ignore[arg-type]

    @pytest.mark.parametrize("currency", ["XXX", "eur", "EURO", "", "€"])
    def test_unknown_currency_is_refused(self, currency: str) -> None:
        with pytest.raises(InvalidMoneyError, match="unknown currency"):
            Money.of(Decimal("1.00"), currency)

    @pytest.mark.parametrize(
        ("amount", "currency"),
        [("1.234", "EUR"), ("0.001", "USD"), ("1.5", "JPY"), ("0.1", "KRW"), ("1.2345", "BHD")],
    )
    def test_more_decimals_than_the_currency_has_are_refused(self, amount: str, currency: str) -> None:
        with pytest.raises(InvalidMoneyError, match="decimal places"):
            Money.of(Decimal(amount), currency)

    @pytest.mark.parametrize("amount", ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity"])
    def test_non_finite_amounts_are_refused(self, amount: str) -> None:
        with pytest.raises(InvalidMoneyError, match="finite"):
            Money.of(Decimal(amount), "EUR")

    @pytest.mark.parametrize(
        "amount", ["1000000000000000", "-1000000000000000", "999999999999999.01", "1E+20"]
    )
    def test_out_of_range_amounts_are_refused(self, amount: str) -> None:
        with pytest.raises(InvalidMoneyError, match="out of range"):
            Money.of(Decimal(amount), "EUR")

    @pytest.mark.parametrize("amount", [MAX_ABS_AMOUNT, -MAX_ABS_AMOUNT])
    def test_the_range_limits_themselves_are_accepted(self, amount: Decimal) -> None:
        assert Money.of(amount, "EUR").amount == amount

    @pytest.mark.parametrize(
        ("amount", "currency", "expected"),
        [
            ("12.3", "EUR", "12.30"),
            ("12", "EUR", "12.00"),
            ("-5", "USD", "-5.00"),
            ("7", "JPY", "7"),
            ("1.2", "BHD", "1.200"),
            ("1E+2", "EUR", "100.00"),
        ],
    )
    def test_amounts_are_quantised_to_the_minor_unit(self, amount: str, currency: str, expected: str) -> None:
        money = Money.of(Decimal(amount), currency)
        assert money.amount == Decimal(expected)
        # Same value *and* same representation (exponent): "12.30", not "12.3".
        assert str(money.amount) == expected
        assert money.currency == currency

    @pytest.mark.parametrize(("amount", "currency"), [("-0", "EUR"), ("-0.00", "EUR"), ("-0", "JPY")])
    def test_negative_zero_becomes_plain_zero(self, amount: str, currency: str) -> None:
        money = Money.of(Decimal(amount), currency)
        assert not money.amount.is_signed()
        assert not str(money).startswith("-")
        assert money.is_zero()

    def test_zero(self) -> None:
        zero = Money.zero("EUR")
        assert zero == Money(Decimal("0.00"), "EUR")
        assert str(zero.amount) == "0.00"
        assert zero.is_zero()
        assert not Money.of(Decimal("0.01"), "EUR").is_zero()

    def test_zero_of_an_unknown_currency_is_refused(self) -> None:
        with pytest.raises(InvalidMoneyError):
            Money.zero("ABC")

    def test_str_shows_amount_and_currency(self) -> None:
        assert str(Money.of(Decimal("12.3"), "EUR")) == "12.30 EUR"
        assert str(Money.of(Decimal("-1500"), "JPY")) == "-1500 JPY"

    def test_money_is_immutable(self) -> None:
        money = Money.of(Decimal("1"), "EUR")
        with pytest.raises(AttributeError):
            money.amount = Decimal("2")  # type: ignore[misc]


class TestCheckCurrency:
    @pytest.mark.parametrize("currency", sorted(MINOR_UNITS))
    def test_known_codes_are_returned(self, currency: str) -> None:
        assert check_currency(currency) == currency

    def test_minor_units_are_sane(self) -> None:
        assert MINOR_UNITS["EUR"] == 2
        assert MINOR_UNITS["JPY"] == 0
        assert MINOR_UNITS["KWD"] == 3
        assert all(units in (0, 2, 3) for units in MINOR_UNITS.values())
        assert all(len(code) == 3 and code.isupper() for code in MINOR_UNITS)


class TestArithmetic:
    def test_add_and_subtract_in_one_currency(self) -> None:
        a = Money.of(Decimal("12.34"), "EUR")
        b = Money.of(Decimal("0.66"), "EUR")
        assert a + b == Money.of(Decimal("13.00"), "EUR")
        assert a - b == Money.of(Decimal("11.68"), "EUR")
        assert b - a == Money.of(Decimal("-11.68"), "EUR")
        assert (a + b).currency == "EUR"

    def test_negation(self) -> None:
        a = Money.of(Decimal("12.34"), "EUR")
        negated = -a
        assert negated == Money.of(Decimal("-12.34"), "EUR")
        assert -negated == a
        assert not (-Money.zero("EUR")).amount.is_signed()

    @pytest.mark.parametrize("operation", [Money.__add__, Money.__sub__])
    def test_mixed_currencies_are_refused(self, operation: object) -> None:
        eur = Money.of(Decimal("1.00"), "EUR")
        usd = Money.of(Decimal("1.00"), "USD")
        with pytest.raises(CurrencyMismatchError, match="EUR with USD"):
            operation(eur, usd)  # type: ignore[operator]

    def test_equal_amounts_in_different_currencies_are_not_equal(self) -> None:
        assert Money.of(Decimal("1"), "EUR") != Money.of(Decimal("1"), "USD")


class TestParseAmount:
    @pytest.mark.parametrize(
        ("text", "currency", "expected"),
        [
            ("12.34", "EUR", "12.34"),
            ("-5", "EUR", "-5.00"),
            ("+5", "EUR", "5.00"),
            (" 12.3 ", "EUR", "12.30"),
            (".5", "EUR", "0.50"),
            ("0", "EUR", "0.00"),
            ("-0", "EUR", "0.00"),
            ("1500", "JPY", "1500"),
            ("999999999999999", "EUR", "999999999999999.00"),
        ],
    )
    def test_plain_decimal_strings_are_accepted(self, text: str, currency: str, expected: str) -> None:
        amount = parse_amount(text, currency)
        assert isinstance(amount, Decimal)
        assert amount == Decimal(expected)
        assert str(amount) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "1e3",
            "1E3",
            " ",
            "",
            "abc",
            "0x10",
            "NaN",
            "Infinity",
            "-inf",
            "1,5",
            "1_000",
            "1.2.3",
            "--5",
            "+",
            ".",
            "-",
            "١٢",  # Arabic-Indic digits: Decimal would accept them
            "12 34",
        ],
    )
    def test_anything_but_a_plain_decimal_is_refused(self, text: str) -> None:
        with pytest.raises(InvalidMoneyError):
            parse_amount(text, "EUR")

    @pytest.mark.parametrize("value", [12.34, 12, None, Decimal("1.00")])
    def test_non_strings_are_refused(self, value: object) -> None:
        with pytest.raises(InvalidMoneyError):
            parse_amount(value, "EUR")  # type: ignore[arg-type]

    @pytest.mark.parametrize(("text", "currency"), [("1.234", "EUR"), ("1.5", "JPY")])
    def test_too_many_decimals_are_refused(self, text: str, currency: str) -> None:
        with pytest.raises(InvalidMoneyError, match="decimal places"):
            parse_amount(text, currency)

    def test_unknown_currency_is_refused(self) -> None:
        with pytest.raises(InvalidMoneyError, match="unknown currency"):
            parse_amount("1.00", "ZZZ")

    def test_out_of_range_is_refused(self) -> None:
        with pytest.raises(InvalidMoneyError, match="out of range"):
            parse_amount("1000000000000000", "EUR")


def test_money_errors_belong_to_the_documented_hierarchy() -> None:
    assert issubclass(InvalidMoneyError, InvalidInputError)
    assert issubclass(CurrencyMismatchError, InvalidInputError)
    assert issubclass(InvalidInputError, DomainError)
    assert InvalidMoneyError.type == "invalid-money"
    assert CurrencyMismatchError.type == "currency-mismatch"
    error = InvalidMoneyError("bad", field="amount")
    assert error.detail == "bad"
    assert error.extra == {"field": "amount"}
    assert str(error) == "bad"
