"""Money: an exact decimal amount in an ISO 4217 currency, never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from ledger.errors import CurrencyMismatchError, InvalidMoneyError

# ISO 4217 active codes with their minor units (number of decimals).
MINOR_UNITS: dict[str, int] = {
    "AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2,
    "CHF": 2, "CLP": 0, "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2,
    "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
    "ISK": 0, "JOD": 3, "JPY": 0, "KES": 2, "KRW": 0, "KWD": 3, "MAD": 2,
    "MXN": 2, "MYR": 2, "NGN": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PEN": 2,
    "PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2,
    "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2,
    "UAH": 2, "USD": 2, "UYU": 2, "VND": 0, "XAF": 0, "XOF": 0, "ZAR": 2,
}  # fmt: skip

# Amounts beyond this are refused: no household holds 10^15 of anything.
MAX_ABS_AMOUNT = Decimal("999999999999999")


def check_currency(currency: str) -> str:
    """Return the currency code if it is a known ISO 4217 code, else raise."""
    if currency not in MINOR_UNITS:
        raise InvalidMoneyError(f"unknown currency {currency!r} (ISO 4217 code expected)")
    return currency


def parse_amount(text: str, currency: str) -> Decimal:
    """Parse a decimal string such as "12.34" for a currency; refuse anything inexact."""
    if not isinstance(text, str):
        raise InvalidMoneyError('an amount must be a decimal string such as "12.34"')
    stripped = text.strip()
    if not stripped or any(c not in "+-.0123456789" for c in stripped):
        raise InvalidMoneyError(f'{text!r} is not a plain decimal amount such as "12.34"')
    try:
        amount = Decimal(stripped)
    except InvalidOperation:
        raise InvalidMoneyError(f"{text!r} is not a decimal amount") from None
    return Money.of(amount, currency).amount


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in a currency; arithmetic refuses mixed currencies."""

    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        """Validated constructor: finite, in range, no more decimals than the currency has."""
        if not isinstance(amount, Decimal) or isinstance(amount, bool):
            raise InvalidMoneyError("amounts are exact decimals, never floats")
        check_currency(currency)
        if not amount.is_finite():
            raise InvalidMoneyError("an amount must be finite")
        if abs(amount) > MAX_ABS_AMOUNT:
            raise InvalidMoneyError("amount out of range")
        exponent = amount.as_tuple().exponent
        assert isinstance(exponent, int)  # finite decimals have an int exponent
        if -exponent > MINOR_UNITS[currency]:
            raise InvalidMoneyError(f"{currency} has {MINOR_UNITS[currency]} decimal places; got {amount}")
        if amount == 0:
            amount = Decimal(0)  # no "-0.00"
        return cls(amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency])), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls.of(Decimal(0), currency)

    def _check_same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check_same_currency(other)
        return Money.of(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check_same_currency(other)
        return Money.of(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


MAX_RATE = Decimal("1000000")


def parse_rate(text: str) -> Decimal:
    """An exchange rate: a positive decimal string (units of the account's currency per
    unit of the foreign one), at most 10 decimals."""
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,7}(\.[0-9]{1,10})?", text):
        raise InvalidMoneyError(f"{text!r} is not a rate such as 0.9237")
    try:
        rate = Decimal(text)
    except (ArithmeticError, ValueError, TypeError):
        raise InvalidMoneyError(f"{text!r} is not a rate") from None
    exponent = rate.as_tuple().exponent
    if (
        not rate.is_finite()
        or rate <= 0
        or rate > MAX_RATE
        or not isinstance(exponent, int)
        or exponent < -10
    ):
        raise InvalidMoneyError("a rate is a positive decimal below 1,000,000 with at most 10 decimals")
    return rate


def convert(amount: Money, rate: Decimal, currency: str) -> Money:
    """``amount`` in ``currency`` at ``rate``, rounded half-even to its minor units."""
    places = Decimal(1).scaleb(-MINOR_UNITS[check_currency(currency)])
    return Money.of((amount.amount * rate).quantize(places, rounding=ROUND_HALF_EVEN), currency)
