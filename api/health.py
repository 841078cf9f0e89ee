"""Probes: /health (the process is alive) and /ready (database reachable, projectors running
and within their lag budget)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from api.services import Services
from api.telemetry import read_model_lags
from queries.consistency import head


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
    """Ready to serve: the database answers, no in-process projector is failing, and every
    read model is within the lag budget (FISCAFLOW_READY_MAX_LAG seconds: the age of the
    oldest event it has not applied). Shows each read model's lag in events and seconds."""
    services: Services = request.app.state.services
    try:
        latest = head(services.reads)
        lags = read_model_lags(services.reads)
    except Exception as error:  # any database failure means not ready
        return Response({"status": "unavailable", "reason": type(error).__name__}, status_code=503)
    failing = {}
    if services.projectors is not None:
        failing = {n: s.error for n, s in services.projectors.states.items() if s.error}
    budget = services.settings.ready_max_lag
    behind = sorted(name for name, (_, seconds) in lags.items() if seconds > budget)
    body = {
        "status": "failing" if failing else "lagging" if behind else "ready",
        "head": latest,
        "lag": {
            name: {"events": events, "seconds": round(seconds, 3)} for name, (events, seconds) in lags.items()
        },
        "lag_budget_seconds": budget,
        "behind": behind,
        "failing_projectors": failing,
    }
    return Response(body, status_code=503 if failing or behind else 200)
