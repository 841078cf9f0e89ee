"""Serving the API from several processes (`fiscaflow serve --processes N`).

One Python process runs commands at about one core (the GIL); uvicorn's workers put N
processes on one listening socket. The supervising process prepares the read models and
runs the background work (projectors, periodic jobs, the relay) once; each API process
builds its app from the environment the supervisor prepared. State that must be shared by
every process (the token deny-list, rate limits, cached answers) lives in Redis, so more
than one process needs REDIS_URL."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar import Litestar

    from ops.settings import Settings


class NeedsRedisError(Exception):
    """Several API processes without a shared store would each keep their own deny-list."""


def check_processes(settings: Settings, processes: int) -> None:
    if processes < 1:
        raise ValueError("--processes must be 1 or more")
    if processes > 1 and not settings.redis_url:
        raise NeedsRedisError(
            "--processes above 1 needs REDIS_URL: revoked tokens, rate limits and cached answers "
            "must be shared by every API process (a token revoked in one would still work in another)"
        )


def child_environment(settings: Settings, conninfo: str) -> dict[str, str]:
    """What every API process reads: this database (the embedded one included), the JWT
    secret (a development secret too, else tokens signed by one process fail in another),
    and no background work of its own."""
    assert settings.jwt_secret is not None
    return {
        "DATABASE_URL": conninfo,
        "FISCAFLOW_JWT_SECRET": settings.jwt_secret,
        "FISCAFLOW_RUN_PROJECTORS": "false",
        "FISCAFLOW_RUN_WORKERS": "false",
    }


def serve_processes(
    settings: Settings, conninfo: str, host: str, port: int, processes: int, level: str
) -> None:
    """Run ``processes`` API processes until SIGINT or SIGTERM (each drains its requests)."""
    import uvicorn

    from api.services import Services

    os.environ.update(child_environment(settings, conninfo))
    # Prepares (creates or upgrades) the read models before any API process serves, and runs
    # the projectors and periodic work as configured: once, here.
    background = Services.start(settings, conninfo)
    try:
        uvicorn.run(
            "ops.serving:app_from_environment",
            factory=True,
            workers=processes,
            host=host,
            port=port,
            log_level=level,
            access_log=False,
            log_config=None,
        )
    finally:
        background.close()


def app_from_environment() -> Litestar:
    """The app of one API process started by :func:`serve_processes`."""
    import structlog

    from api.app import create_app
    from ops.logs import configure_logging
    from ops.settings import Settings
    from ops.telemetry import configure

    settings = Settings.from_env()
    configure_logging(settings.mode, settings.log_level)
    configure("fiscaflow-api")
    structlog.contextvars.unbind_contextvars("command", "correlation_id")
    return create_app(settings)
