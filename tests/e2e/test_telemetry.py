"""Traces and metrics of a served FiscaFlow: the server exports its spans with OTLP/HTTP to
a collector the test runs on loopback (configured only by the standard OTEL_* variables),
and answers Prometheus scrapes on /metrics."""

from __future__ import annotations

import json
import re
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import create_database, drop_database
from tests.e2e.server import Server
from tests.e2e.users import sign_up

pytestmark = pytest.mark.e2e


@dataclass
class Collector:
    """A minimal OTLP/HTTP trace receiver: every span it was sent, with its resource."""

    url: str = ""
    spans: list[tuple[dict[str, Any], Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.lock:
            for resource_spans in request.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend((resource, span) for span in scope_spans.spans)


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    found = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/v1/traces":
                found.receive(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@dataclass
class Served:
    metrics: str
    spans: list[tuple[dict[str, Any], Any]]


@pytest.fixture(scope="module")
def served(collector: Collector, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    conninfo = create_database()
    env = {
        "DATABASE_URL": conninfo,
        "FISCAFLOW_MODE": "development",
        "FISCAFLOW_RATE_LIMIT": "100000",
        "OTEL_SERVICE_NAME": "fiscaflow-e2e",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_METRICS_EXPORTER": "none",  # metrics: scraped from /metrics below
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    server = Server(env, tmp_path_factory.mktemp("telemetry") / "server.log")
    try:
        member = sign_up(server.url)
        with member.client as client:
            account = client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()["id"]
            recorded = client.post(
                "/api/v1/transactions",
                json={"kind": "income", "account_id": account, "amount": "5.00", "date": "2026-11-02"},
            )
            assert recorded.status_code == 201, recorded.text
            bad = client.post("/api/v1/transactions", json={"kind": "income", "account_id": account})
            assert bad.status_code in (400, 422)
            token = recorded.json()["consistency_token"]
            assert client.get("/api/v1/accounts", params={"after": token}).status_code == 200
        scraped = httpx.get(f"{server.url}/metrics", timeout=10)
        assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    finally:
        assert server.stop() == 0  # SIGTERM: the last spans are flushed on the way out
        drop_database(conninfo)
    with collector.lock:
        yield Served(scraped.text, list(collector.spans))


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format."""
    for line in metrics.splitlines():
        match = re.match(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    raise AssertionError(f"no sample {name}{labels} in:\n{metrics}")


def test_metrics_count_commands_by_type_and_outcome(served: Served) -> None:
    assert (
        sample(served.metrics, "fiscaflow_commands_total", command="recordTransaction", outcome="accepted")
        == 1
    )
    assert (
        sample(served.metrics, "fiscaflow_commands_total", command="recordTransaction", outcome="invalid")
        == 1
    )
    assert sample(served.metrics, "fiscaflow_commands_total", command="openAccount", outcome="accepted") == 1


def test_metrics_have_request_latency_and_lag_per_projection(served: Served) -> None:
    assert re.search(
        r"^http_server_duration_milliseconds_bucket\{.*le=\"\+Inf\".*\} \d+", served.metrics, re.M
    )
    for reader in ("accounts", "transactions", "directory", "relay"):
        assert sample(served.metrics, "fiscaflow_lag", reader=reader) >= 0
        assert sample(served.metrics, "fiscaflow_lag_seconds", reader=reader) >= 0
    assert sample(served.metrics, "fiscaflow_lag", reader="accounts") == 0  # caught up: we waited


def test_traces_cover_http_sql_projectors_and_the_relay(served: Served) -> None:
    assert served.spans, "no span reached the collector"
    assert {resource["service.name"] for resource, _ in served.spans} == {"fiscaflow-e2e"}
    spans = [span for _, span in served.spans]
    names = {span.name for span in spans}
    http = [s for s in spans if s.name == "POST /api/v1/transactions" and s.kind == 2]  # SERVER
    assert http, sorted(names)
    sql = [s for s in spans if any(a.key == "db.system" for a in s.attributes)]
    assert any(s.trace_id == http[0].trace_id for s in sql)  # the append's SQL is in the request's trace
    projected = {
        a.value.string_value
        for s in spans
        if s.name == "project batch"
        for a in s.attributes
        if a.key == "fiscaflow.projection"
    }
    assert {"accounts", "transactions"} <= projected
    assert "publish fiscaflow.events" in names


def test_without_spans_request_latency_is_still_measured_by_route_and_status(tmp_path: Path) -> None:
    """No OTLP endpoint: no span is recorded and Litestar's OpenTelemetry plugin is left out;
    the access log records ``http.server.duration`` instead (api/telemetry.observe_request)."""
    conninfo = create_database()
    env = {"DATABASE_URL": conninfo, "FISCAFLOW_MODE": "development", "FISCAFLOW_RATE_LIMIT": "100000",
           "FISCAFLOW_RUN_PROJECTORS": "false"}  # fmt: skip
    unset = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED")
    server = Server(env, tmp_path / "server.log", unset=unset)
    try:
        member = sign_up(server.url)
        with member.client as client:
            account = client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()["id"]
            good = {"kind": "income", "account_id": account, "amount": "5.00", "date": "2026-11-02"}
            for _ in range(3):
                assert client.post("/api/v1/transactions", json=good).status_code == 201
            bad = client.post("/api/v1/transactions", json={"kind": "income", "account_id": account})
            assert bad.status_code in (400, 422)
        scraped = httpx.get(f"{server.url}/metrics", timeout=10).text
    finally:
        assert server.stop() == 0
        drop_database(conninfo)
    route = {"http_method": "POST", "http_route": "/api/v1/transactions"}
    name = "http_server_duration_milliseconds_count"
    assert sample(scraped, name, **route, http_status_code="201") == 3
    assert sample(scraped, name, **route, http_status_code=str(bad.status_code)) == 1
    assert (
        sample(
            scraped, "http_server_duration_milliseconds_bucket", **route, http_status_code="201", le="+Inf"
        )
        == 3
    )
    assert "opentelemetry_instrumentation_asgi" not in scraped  # the plugin's own series are absent


def test_ready_reports_the_lag_budget(tmp_path: Path) -> None:
    conninfo = create_database()
    env = {"DATABASE_URL": conninfo, "FISCAFLOW_MODE": "development", "FISCAFLOW_RUN_PROJECTORS": "false",
           "FISCAFLOW_READY_MAX_LAG": "0.5"}  # fmt: skip
    server = Server(env, tmp_path / "server.log")
    try:
        ready = httpx.get(f"{server.url}/ready", timeout=10)
        assert ready.status_code == 200, ready.text  # nothing stored, nothing to lag behind
        member = sign_up(server.url)  # events, and no projector runs in this process
        member.client.close()
        deadline_lagging = httpx.get(f"{server.url}/ready", timeout=10)
        for _ in range(20):
            if deadline_lagging.status_code == 503:
                break
            threading.Event().wait(0.2)
            deadline_lagging = httpx.get(f"{server.url}/ready", timeout=10)
        body = deadline_lagging.json()
        assert deadline_lagging.status_code == 503 and body["status"] == "lagging", body
        assert "directory" in body["behind"] and body["lag"]["directory"]["events"] > 0
    finally:
        assert server.stop() == 0
        drop_database(conninfo)


def test_sigterm_drains_the_request_in_flight(tmp_path: Path) -> None:
    """A request being handled when SIGTERM arrives still gets its answer, and is stored;
    then the server exits cleanly."""
    conninfo = create_database()
    env = {"DATABASE_URL": conninfo, "FISCAFLOW_MODE": "development", "FISCAFLOW_RATE_LIMIT": "100000"}
    server = Server(env, tmp_path / "server.log")
    try:
        member = sign_up(server.url)
        account = member.client.post("/api/v1/accounts", json={"name": "Main", "currency": "EUR"}).json()[
            "id"
        ]
        items = [
            {
                "kind": "income",
                "account_id": account,
                "amount": "1.00",
                "date": "2026-11-02",
                "description": f"n{n}",
            }
            for n in range(1000)
        ]
        answers: list[httpx.Response] = []
        body = json.dumps({"transactions": items}).encode()
        halfway = threading.Event()

        def slowly() -> Iterator[bytes]:
            """The body in two halves, 0.5 s apart: the request is in flight in between
            (the append itself takes under 0.2 s, too short to aim a signal at)."""
            yield body[: len(body) // 2]
            halfway.set()
            threading.Event().wait(0.5)
            yield body[len(body) // 2 :]

        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        sending = threading.Thread(
            target=lambda: answers.append(
                member.client.post(
                    "/api/v1/transactions/bulk", content=slowly(), headers=headers, timeout=120
                )
            )
        )
        sending.start()
        assert halfway.wait(30)
        threading.Event().wait(0.1)
        server.process.send_signal(signal.SIGTERM)
        sending.join(timeout=120)
        member.client.close()
        assert server.process.wait(timeout=60) == 0
        assert [a.status_code for a in answers] == [201], [a.text[:300] for a in answers]
        with psycopg.connect(conninfo) as conn:
            (stored,) = conn.execute(
                "SELECT count(*) FROM eventstore.fiscaflow_events WHERE topic = %s",
                ("ledger.transaction:Transaction.Recorded",),
            ).fetchone()  # type: ignore[misc]
        assert stored == 1000
        log = (tmp_path / "server.log").read_text()
        assert log.index("Shutting down") < log.index(
            "POST /api/v1/transactions/bulk 201"
        )  # it was in flight
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.url}/health", timeout=2)
    finally:
        if server.process.poll() is None:
            server.stop()
        else:
            server.log.close()
        drop_database(conninfo)


def test_metrics_show_how_many_appends_shared_a_commit(served: Served) -> None:
    """The fixture's requests came one after another: every append was stored alone."""
    counts = re.findall(
        r"^fiscaflow_append_group_size_(count|sum|bucket)(\{[^}]*\})? (\S+)$", served.metrics, re.M
    )
    values = {(kind, labels): float(value) for kind, labels, value in counts}
    count = sum(v for (kind, _), v in values.items() if kind == "count")
    total = sum(v for (kind, _), v in values.items() if kind == "sum")
    assert count >= 3, served.metrics  # the sign-up, the account, the income (at least)
    assert total == count
    alone = [v for (kind, labels), v in values.items() if kind == "bucket" and 'le="1"' in labels]
    assert alone == [count]
