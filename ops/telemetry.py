"""Traces and metrics with OpenTelemetry, configured once per process by the standard
``OTEL_*`` variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).

- ``OTEL_SERVICE_NAME`` (default: the process's role, e.g. ``fiscaflow-api``) and
  ``OTEL_RESOURCE_ATTRIBUTES`` name the service.
- Traces are recorded and exported with OTLP over HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT``
  or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set (``OTEL_TRACES_EXPORTER=none`` stops it);
  otherwise no span is even recorded. ``OTEL_TRACES_SAMPLER`` and its argument choose the
  sampling.
- Metrics are always kept for the Prometheus scrape of ``/metrics``, and also exported with
  OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``..._METRICS_ENDPOINT`` is set
  (``OTEL_METRICS_EXPORTER=none`` stops that), every ``OTEL_METRIC_EXPORT_INTERVAL`` ms.
- ``OTEL_SDK_DISABLED=true`` turns all of it off.

What is traced: HTTP requests (Litestar's OpenTelemetry plugin, api/app.py), every psycopg
statement, each batch a projector applies and each batch the relay publishes to RabbitMQ.
The code asks the global OpenTelemetry API for its tracer and meter, so it is instrumented
whether or not the process configured an SDK (without one, it costs next to nothing).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from prometheus_client import CollectorRegistry


@dataclass(frozen=True)
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    registry: CollectorRegistry  # what /metrics serves

    def shutdown(self) -> None:
        """Flush what is buffered (spans, metrics) before the process exits."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


_lock = threading.Lock()
_configured: Telemetry | None = None


def _exports(env: Mapping[str, str], signal: str) -> bool:
    if env.get(f"OTEL_{signal}_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"))


def build(
    service: str,
    env: Mapping[str, str],
    *,
    span_exporter: SpanExporter | None = None,
    metric_readers: tuple[MetricReader, ...] = (),
) -> Telemetry:
    """The providers for a process (not installed globally: see ``configure``)."""
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or service})
    tracer_provider = TracerProvider(resource=resource)
    if span_exporter is None and _exports(env, "TRACES"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter()  # endpoint, headers, timeout: from OTEL_* variables
    if span_exporter is not None:
        tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    registry = CollectorRegistry()
    readers: list[MetricReader] = [PrometheusMetricReader(registry=registry), *metric_readers]
    if _exports(env, "METRICS"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    return Telemetry(tracer_provider, MeterProvider(resource=resource, metric_readers=readers), registry)


def configure(service: str, env: Mapping[str, str] | None = None) -> Telemetry | None:
    """Install the process's telemetry (once; later calls return the first), and trace
    psycopg. None when ``OTEL_SDK_DISABLED=true``."""
    global _configured  # noqa: PLW0603 - one per process, like the OpenTelemetry globals
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    with _lock:
        if _configured is None:
            _configured = build(service, env)
            metrics.set_meter_provider(_configured.meter_provider)
            if _exports(env, "TRACES"):
                # Spans only where they go somewhere: recording them for nobody cost about
                # 2 ms of CPU per command (fiscaflow bench --only http, with and without).
                trace.set_tracer_provider(_configured.tracer_provider)
                PsycopgInstrumentor().instrument(tracer_provider=_configured.tracer_provider)
        return _configured


def tracing() -> bool:
    """Whether this process records spans (``configure`` found where to send them)."""
    return _configured is not None and trace.get_tracer_provider() is _configured.tracer_provider


def configured() -> Telemetry | None:
    """The process's telemetry, if ``configure`` installed it."""
    return _configured
