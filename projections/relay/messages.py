"""The integration message of a stored event: JSON with the event's id, type, aggregate,
version, position, time, household and data, personal data left out.

``correlation_id`` and ``command`` (null for events stored without metadata) say which
request or job made the event: the ``X-Request-ID`` of the HTTP request (or a job's id per
run) and the command's operation id (``recordTransaction``, ``cli:fiscaflow users
set-role``). They are in the JSON body, and the correlation id is also the AMQP
``correlation_id`` property of the message (projections/relay/publisher.py). The actor and
the client are not published.

Left out of ``data`` (other systems get the fact, not the person): email addresses, display
names, password hashes, login client descriptions, webhook URLs (they may hold tokens),
household names, and every field ledger.personal declares personal (the relay has no
keys to read them anyway: they are encrypted per person). Amounts are decimal strings,
money is ``{"amount", "currency"}``.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from ledger.money import Money
from ledger.personal import personal_fields
from ledger.posting import Posting

PERSONAL = frozenset({"email", "display_name", "password_hash", "client", "url"})
PERSONAL_BY_MODULE = {"ledger.household": frozenset({"name"})}
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def event_id(aggregate_id: UUID, version: int) -> UUID:
    """An event's id: one per aggregate and version, the same in every delivery."""
    return uuid5(NAMESPACE_URL, f"fiscaflow:event:{aggregate_id}:{version}")


def plain(value: Any) -> Any:
    """JSON-ready: money as amount and currency strings, decimals as strings."""
    if isinstance(value, Money):
        value = {"amount": str(value.amount), "currency": value.currency}
    elif isinstance(value, Posting):
        value = {"account": value.account, "amount": value.amount}
    elif isinstance(value, Decimal | UUID | Enum | dt.date):  # datetime is a date
        value = value.isoformat() if isinstance(value, dt.date) else str(getattr(value, "value", value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def household_of(topic: str, aggregate_id: UUID, fields: dict[str, Any]) -> str | None:
    if "household_id" in fields:
        return str(fields["household_id"])
    if topic.startswith("ledger.household:"):
        return str(aggregate_id)
    return None


def message(
    position: int, topic: str, event: Any, correlation: dict[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """The routing key (the event type, e.g. ``Transaction.Recorded``) and the message;
    ``correlation`` is the event's correlation id and command (projections.base.correlation_of)."""
    fields = dict(vars(event))
    module, _, kind = topic.partition(":")
    hidden = PERSONAL | PERSONAL_BY_MODULE.get(module, frozenset()) | set(personal_fields(topic))
    data = {k: plain(v) for k, v in fields.items() if k not in ENVELOPE and k not in hidden}
    body = {
        "id": str(event_id(event.originator_id, event.originator_version)),
        "type": kind,
        "topic": topic,
        "aggregate_id": str(event.originator_id),
        "aggregate_version": event.originator_version,
        "position": position,
        "timestamp": event.timestamp.isoformat(),
        "household_id": household_of(topic, event.originator_id, fields),
        "data": data,
        "correlation_id": (correlation or {}).get("correlation_id"),
        "command": (correlation or {}).get("command"),
    }
    return kind, body


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
