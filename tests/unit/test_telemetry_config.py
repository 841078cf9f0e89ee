"""How the standard OTEL_* variables configure the process's telemetry (ops/telemetry.py),
and how answers count as command outcomes (api/telemetry.py)."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import generate_latest

from api.telemetry import outcome
from ops.telemetry import _exports, build, configure


def test_otlp_export_only_where_an_endpoint_is_set() -> None:
    assert not _exports({}, "TRACES")
    assert _exports({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "TRACES")
    assert _exports({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318/v1/metrics"}, "METRICS")
    assert not _exports({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318/v1/metrics"}, "TRACES")
    assert not _exports(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, "TRACES"
    )


def test_the_sdk_can_be_switched_off() -> None:
    assert configure("fiscaflow-test", {"OTEL_SDK_DISABLED": "true"}) is None


def test_a_built_process_names_its_service_and_serves_its_metrics() -> None:
    exporter = InMemorySpanExporter()
    telemetry = build("fiscaflow-api", {"OTEL_SERVICE_NAME": "ledger-eu"}, span_exporter=exporter)
    with telemetry.tracer_provider.get_tracer("t").start_as_current_span("work"):
        pass
    telemetry.meter_provider.get_meter("t").create_counter("fiscaflow.things").add(2, {"kind": "x"})
    scraped = generate_latest(telemetry.registry).decode()
    telemetry.shutdown()  # flushes the batch
    (span,) = exporter.get_finished_spans()
    assert (span.name, span.resource.attributes["service.name"]) == ("work", "ledger-eu")
    assert 'fiscaflow_things_total{kind="x"' in scraped


def test_answers_count_as_outcomes() -> None:
    assert [outcome(s) for s in (201, 204, 409, 404, 403, 422, 400, 429, 503, 500)] == [
        "accepted", "accepted", "conflict", "refused", "refused", "invalid", "invalid",
        "unavailable", "unavailable", "failed",
    ]  # fmt: skip
