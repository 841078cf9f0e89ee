"""Probes: /health (the process is alive) and /ready (database reachable, projectors running)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from api.services import Services
from queries.consistency import head, positions
from queries.db import ACCOUNTS_SCHEMA, TRANSACTIONS_SCHEMA


@get("/health", operation_id="health", tags=["probes"], sync_to_thread=False)
def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@get(
    "/ready",
    operation_id="ready",
    tags=["probes"],
    sync_to_thread=True,
    responses={503: ResponseSpec(data_container=dict[str, Any], description="Not ready")},
)
def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """The database answers and no in-process projector is failing; shows projection lag."""
    services: Services = request.app.state.services
    try:
        latest = head(services.reads)
        tracked = positions(services.reads, (ACCOUNTS_SCHEMA, TRANSACTIONS_SCHEMA))
    except Exception as error:  # any database failure means not ready
        return Response({"status": "unavailable", "reason": type(error).__name__}, status_code=503)
    failing = {}
    if services.projectors is not None:
        failing = {n: s.error for n, s in services.projectors.states.items() if s.error}
    body = {
        "status": "failing" if failing else "ready",
        "head": latest,
        "lag": {schema: latest - position for schema, position in tracked.items()},
        "failing_projectors": failing,
    }
    return Response(body, status_code=503 if failing else 200)
