"""The API's metrics: request latency, commands by type and outcome, the read models' and
the relay's lag, and the Prometheus scrape endpoint ``/metrics``. See ops/telemetry.py for
the set-up.

Request latency is the histogram ``http.server.duration`` (ms). A process that records
spans gets it, with a span per request, from Litestar's OpenTelemetry plugin; any other
process records it here, from the access-log middleware (by method, route and status):
the plugin's middleware cost about 14 % of a command's CPU without recording anything."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from litestar import Response, get
from litestar.types import Scope
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ops.telemetry import configured
from projections.registry import PROJECTIONS
from queries.consistency import lags, positions, relay_position
from queries.db import ReadStore

COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
meter = metrics.get_meter("fiscaflow.api")
commands = meter.create_counter(
    "fiscaflow.commands", unit="{command}", description="Commands handled, by operation and outcome"
)


durations = meter.create_histogram(
    "http.server.duration", unit="ms", description="Duration of HTTP server requests"
)


PROBES = frozenset({"/health", "/ready", "/metrics"})  # not timed, as the plugin's exclude


def observe_request(scope: Scope, status: int, elapsed_ms: float) -> None:
    """One answered request (from the access-log middleware, in processes without spans)."""
    if scope.get("path") in PROBES:
        return
    attributes = {
        "http.method": scope.get("method", ""),
        "http.route": scope.get("path_template", ""),  # "" when no route matched
        "http.status_code": status,
        "http.scheme": scope.get("scheme", "http"),
    }
    durations.record(elapsed_ms, attributes)


def outcome(status: int) -> str:
    if 200 <= status < 300:
        return "accepted"
    if status == 409:
        return "conflict"
    if status in (401, 403, 404):
        return "refused"
    if status in (429, 503):
        return "unavailable"
    if 400 <= status < 500:
        return "invalid"
    return "failed"


def count_command(scope: Scope, status: int) -> None:
    """One command answered (from the access-log middleware, which sees every answer)."""
    if scope.get("method") not in COMMAND_METHODS:
        return
    handler = scope.get("route_handler")
    operation = getattr(handler, "operation_id", None)
    name = operation if isinstance(operation, str) else "unrouted"
    commands.add(1, {"command": name, "outcome": outcome(status)})


def read_model_lags(reads: ReadStore, relay: bool = False) -> dict[str, tuple[int, float]]:
    """Each projection's lag (and the relay's, if asked and it has run), in a few queries."""
    schemas = {name: projection.default_schema() for name, projection in PROJECTIONS.items()}
    tracked = positions(reads, tuple(schemas.values()))
    readers = {name: tracked[schema] for name, schema in schemas.items()}
    relayed = relay_position(reads) if relay else None
    if relayed is not None:
        readers["relay"] = relayed
    return lags(reads, readers)


def observe_lag(reads: ReadStore) -> None:
    """Gauges of how far each projection and the relay are behind the event store, read
    from the database once per collection of the metrics (a scrape, an export)."""
    last: list[tuple[float, dict[str, tuple[int, float]]]] = []

    def readers() -> dict[str, tuple[int, float]]:
        if last and time.monotonic() - last[0][0] < 1.0:  # both gauges of one collection
            return last[0][1]
        try:
            found = read_model_lags(reads, relay=True)
        except Exception:  # a failing database must not fail the scrape: /ready says it
            found = {}
        last[:] = [(time.monotonic(), found)]
        return found

    def events(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"reader": name}) for name, (n, _) in readers().items()]

    def seconds(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(s, {"reader": name}) for name, (_, s) in readers().items()]

    description = "How far behind the event store a projection (or the relay) is"
    meter.create_observable_gauge("fiscaflow.lag", [events], unit="{event}", description=description)
    meter.create_observable_gauge("fiscaflow.lag.seconds", [seconds], unit="s", description=description)


@get(
    "/metrics", operation_id="metrics", tags=["probes"], sync_to_thread=False, media_type=CONTENT_TYPE_LATEST
)
def metrics_endpoint() -> Response[Any]:
    """The Prometheus text format of every metric of this process."""
    telemetry = configured()
    body = generate_latest(telemetry.registry) if telemetry is not None else b""
    return Response(body, media_type=CONTENT_TYPE_LATEST)
