"""Who and why, for the events an append stores: set per request (or job) and written
into each event's ``metadata`` by the recorder, inside the append's transaction."""

from __future__ import annotations

import json
import uuid
from contextvars import ContextVar
from typing import Any

import structlog

AUDIT: ContextVar[dict[str, Any] | None] = ContextVar("fiscaflow_audit", default=None)


def as_json() -> str:
    """The current context as canonical JSON ('' when there is none)."""
    context = AUDIT.get()
    return "" if context is None else json.dumps(context, sort_keys=True, separators=(",", ":"))


def as_job(name: str) -> None:
    """Who and why for the events a background job or an operator's CLI command appends:
    no user, the job's name as the command, a fresh correlation id per run (which the
    job's log lines carry too)."""
    correlation = uuid.uuid4().hex
    AUDIT.set(
        {
            "actor": None,
            "household": None,
            "correlation_id": correlation,
            "command": name,
            "client": None,
        }
    )
    structlog.contextvars.bind_contextvars(correlation_id=correlation, command=name)
