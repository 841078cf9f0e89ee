"""Domain errors, each with a stable machine-readable ``type`` slug.

Hierarchy::

    DomainError
    ├── InvalidInputError          (422) a value the domain cannot accept
    │   ├── InvalidMoneyError
    │   └── CurrencyMismatchError
    ├── NotFoundError              (404) no such resource in the caller's household
    ├── ForbiddenError             (403) the caller's role may not do this in its household
    └── ConflictError              (409) the request clashes with current state
        ├── IllegalTransitionError
        ├── AccountClosedError
        ├── BalanceLimitError
        ├── AccountNotEmptyError
        ├── EmailTakenError
        ├── PeriodClosedError          a change dated in a closed period
        ├── OpenHoldsError             a close with pending transactions in its period
        └── ConcurrencyConflictError   another writer changed the aggregate first
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    type: ClassVar[str] = "domain-error"
    title: ClassVar[str] = "Domain rule violated"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInputError(DomainError):
    type = "invalid-input"
    title = "Invalid input"


class InvalidMoneyError(InvalidInputError):
    type = "invalid-money"
    title = "Invalid amount or currency"


class CurrencyMismatchError(InvalidInputError):
    type = "currency-mismatch"
    title = "Currencies do not match"


class NotFoundError(DomainError):
    type = "not-found"
    title = "Resource not found"


class ForbiddenError(DomainError):
    type = "forbidden"
    title = "Not allowed for your role"


class ConflictError(DomainError):
    type = "conflict"
    title = "Conflict with current state"


class IllegalTransitionError(ConflictError):
    type = "illegal-transition"
    title = "Illegal status transition"


class AccountClosedError(ConflictError):
    type = "account-closed"
    title = "Account is closed"


class BalanceLimitError(ConflictError):
    type = "balance-limit"
    title = "Balance limit would be exceeded"


class AccountNotEmptyError(ConflictError):
    type = "account-not-empty"
    title = "Account balance is not zero"


class EmailTakenError(ConflictError):
    type = "email-taken"
    title = "Email already registered"


class PeriodClosedError(ConflictError):
    type = "period-closed"
    title = "The period is closed"


class OpenHoldsError(ConflictError):
    type = "open-holds"
    title = "Pending transactions in the period"


class ConcurrencyConflictError(ConflictError):
    type = "concurrency-conflict"
    title = "Changed by another writer"
