"""Readable, JSON-safe views of domain events (for conflict answers and the event log)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import get_topic

from ledger.money import Money
from ledger.posting import Posting

ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def plain(value: Any) -> Any:  # noqa: PLR0911 - one return per kind of value
    """Turn domain values into JSON-safe ones; amounts stay decimal strings."""
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if isinstance(value, Posting):
        return {"account": value.account, **plain(value.amount)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def event_type(event: DomainEventProtocol[Any]) -> str:
    """The stable type name of an event, e.g. "Transaction.Recorded"."""
    return get_topic(type(event)).split(":", 1)[1]


def describe(event: DomainEventProtocol[Any]) -> dict[str, Any]:
    """An event as a dict: type, aggregate id, version, time and its own data."""
    data = {k: plain(v) for k, v in vars(event).items() if k not in ENVELOPE}
    return {
        "type": event_type(event),
        "aggregate_id": str(event.originator_id),
        "version": event.originator_version,
        "timestamp": event.timestamp.isoformat(),
        "data": data,
    }
