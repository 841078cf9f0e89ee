"""Who and why, for the events an append stores: set per request (or job) and written
into each event's ``metadata`` by the recorder, inside the append's transaction."""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

AUDIT: ContextVar[dict[str, Any] | None] = ContextVar("fiscaflow_audit", default=None)


def as_json() -> str:
    """The current context as canonical JSON ('' when there is none)."""
    context = AUDIT.get()
    return "" if context is None else json.dumps(context, sort_keys=True, separators=(",", ":"))
