"""The composition root: ``create_app(settings)`` builds the Litestar application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.concurrency import sync_to_thread
from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import ResponseHeader
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore

from api.accounts import AccountController
from api.analytics import AnalyticsController
from api.audit import AuditController
from api.audit_bitemporal import BitemporalController
from api.auth import SharedStore, jwt_auth
from api.budgets import BudgetController
from api.categories import CategoryController, RuleController
from api.errors import EXCEPTION_HANDLERS, SECURITY_HEADERS
from api.files import ExportController, ExportDownloadController, ReceiptController
from api.goals import GoalController
from api.health import health, ready
from api.households import HouseholdController
from api.imports import ImportBatchController, ImportController
from api.insights import InsightController
from api.monitors import MonitorController
from api.notifications import NotificationController
from api.periods import PeriodController
from api.reconciliation import ReconciliationController
from api.requests import access_log, before_request
from api.schedules import ScheduleController
from api.services import Services
from api.settlement import SettlementController
from api.telemetry import PROBES, metrics_endpoint, observe_lag
from api.transactions import TransactionController
from api.users import UserController
from ops.settings import Settings
from ops.telemetry import configured, tracing

MAX_BODY_BYTES = 1_000_000
DESCRIPTION = """FiscaFlow: an event-sourced ledger for households.

Commands (POST/PUT/DELETE) answer with the aggregate's id, its new version and a
consistency token. Send the token back on a query (`X-Consistency-Token` header or
`?after=`) to read your own write. Amounts are decimal strings, never JSON numbers.
Errors are RFC 9457 problem+json documents."""


def outermost(first: list[Any]) -> Any:
    """JWTAuth puts its middleware first; ours (access log, rate limit) must wrap it, so
    that floods of bad tokens are limited and logged too."""

    def reorder(app_config: AppConfig) -> AppConfig:
        rest = [m for m in app_config.middleware if m not in first]
        app_config.middleware = [*first, *rest]
        return app_config

    return reorder


def stores(settings: Settings) -> dict[str, Store]:
    """Rate limits, login throttling, the token deny-list and cached query answers: Redis
    when configured."""
    if settings.redis_url:
        redis = SharedStore.with_client(url=settings.redis_url, namespace="fiscaflow")
        names = ("auth", "rate_limit", "cache")
        return {name: redis.with_namespace(name) for name in names}
    return {"auth": MemoryStore(), "rate_limit": MemoryStore(), "cache": MemoryStore()}


def create_app(settings: Settings, conninfo: str | None = None) -> Litestar:
    """Build the API for a database (``conninfo``, else ``settings.database_url``)."""
    database = conninfo or settings.database_url
    if not database:
        raise ValueError("create_app needs a database: pass conninfo or set DATABASE_URL")
    if settings.jwt_secret is None:
        raise ValueError("create_app needs settings.jwt_secret")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await sync_to_thread(Services.start, settings, database)
        app.state.services = services
        if configured() is not None:  # a process with telemetry (serve): lag gauges too
            observe_lag(services.reads)
        try:
            yield
        finally:
            await sync_to_thread(services.close)

    openapi = OpenAPIConfig(
        title="FiscaFlow",
        version="0.1.0",
        description=DESCRIPTION,
        path="/schema",
        use_handler_docstrings=True,  # each handler's docstring is its operation's description
        # Interactive docs only when enabled; the JSON document is always served.
        render_plugins=[ScalarRenderPlugin(), JsonRenderPlugin()]
        if settings.openapi_docs
        else [JsonRenderPlugin()],
    )
    middleware: list[Any] = [access_log]
    if settings.rate_limit > 0:
        probes = ["^/health$", "^/ready$", "^/metrics$"]
        limit = RateLimitConfig(rate_limit=("minute", settings.rate_limit), exclude=probes)
        middleware.append(limit.middleware)
    cors = CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None
    headers = dict(SECURITY_HEADERS)
    return Litestar(
        route_handlers=[
            AccountController,
            TransactionController,
            CategoryController,
            RuleController,
            BudgetController,
            GoalController,
            SettlementController,
            AnalyticsController,
            InsightController,
            ScheduleController,
            MonitorController,
            NotificationController,
            AuditController,
            BitemporalController,
            ImportController,
            ImportBatchController,
            ReceiptController,
            ExportController,
            ExportDownloadController,
            ReconciliationController,
            PeriodController,
            UserController,
            HouseholdController,
            health,
            ready,
            metrics_endpoint,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi,
        lifespan=[lifespan],
        request_max_body_size=MAX_BODY_BYTES,
        on_app_init=[jwt_auth(settings.jwt_secret).on_app_init, outermost(middleware)],
        stores=stores(settings),
        # Traces and the request-latency histogram, with the process's providers (ops/telemetry.py).
        # A span per request where spans go somewhere; else latency is recorded by the
        # access log (api/telemetry.observe_request), without the plugin's cost.
        plugins=[OpenTelemetryPlugin(OpenTelemetryConfig(exclude=[f"^{p}$" for p in sorted(PROBES)]))]
        if tracing()
        else [],
        middleware=middleware,
        cors_config=cors,
        response_headers=[ResponseHeader(name=k, value=v) for k, v in headers.items()],
        before_request=before_request,
        logging_config=None,  # ops/logs.py configures the process's logging (structlog)
    )


__all__ = ["create_app"]
