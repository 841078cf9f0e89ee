"""Process-wide logging: one structlog pipeline for structlog's and the standard library's
loggers (ours, uvicorn's, the libraries'), JSON lines in production and readable console
lines in development, with secrets and personal data masked (ops/log_masking.py).

Every line carries an ISO UTC timestamp, the level, the logger's name and what is bound
in structlog's contextvars: the request's ``correlation_id`` (api/requests.py), or the
correlation id and command of the event a projector is applying (projections/runner.py).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import Processor

from ops.log_masking import mask_secrets

# uvicorn's loggers get their own handlers from its default config; ``fiscaflow serve``
# passes log_config=None and these propagate to the root handler instead.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def shared_processors() -> list[Processor]:
    """What every line gets, whether it came from structlog or from the standard library."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def renderer(mode: str, stream: TextIO) -> Processor:
    if mode == "production":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=stream.isatty())


def formatter(mode: str, stream: TextIO) -> structlog.stdlib.ProcessorFormatter:
    # Exceptions become plain text before masking, so a secret in an error message or a
    # traceback is masked too; this also keeps rich's tracebacks (which show locals) out.
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            mask_secrets,
            renderer(mode, stream),
        ],
    )


def configure_logging(mode: str, level: int | str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Send every logger of the process through one handler on ``stream`` (stderr);
    return that handler."""
    out = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter(mode, out))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in UVICORN_LOGGERS:
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.captureWarnings(True)
    structlog.configure(
        processors=[
            *shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return handler
