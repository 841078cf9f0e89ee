"""The composition root: ``create_app(settings)`` builds the Litestar application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.concurrency import sync_to_thread
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin

from api.accounts import AccountController
from api.errors import EXCEPTION_HANDLERS
from api.health import health, ready
from api.services import Services
from api.transactions import TransactionController
from ops.settings import Settings

MAX_BODY_BYTES = 1_000_000
DESCRIPTION = """FiscaFlow: an event-sourced ledger for households.

Commands (POST/PUT/DELETE) answer with the aggregate's id, its new version and a
consistency token. Send the token back on a query (`X-Consistency-Token` header or
`?after=`) to read your own write. Amounts are decimal strings, never JSON numbers.
Errors are RFC 9457 problem+json documents."""


def create_app(settings: Settings, conninfo: str | None = None) -> Litestar:
    """Build the API for a database (``conninfo``, else ``settings.database_url``)."""
    database = conninfo or settings.database_url
    if not database:
        raise ValueError("create_app needs a database: pass conninfo or set DATABASE_URL")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await sync_to_thread(Services.start, settings, database)
        app.state.services = services
        try:
            yield
        finally:
            await sync_to_thread(services.close)

    openapi = OpenAPIConfig(
        title="FiscaFlow",
        version="0.1.0",
        description=DESCRIPTION,
        path="/schema",
        render_plugins=[ScalarRenderPlugin()] if settings.openapi_docs else [],
    )
    return Litestar(
        route_handlers=[
            AccountController,
            TransactionController,
            health,
            ready,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi,
        lifespan=[lifespan],
        request_max_body_size=MAX_BODY_BYTES,
    )
