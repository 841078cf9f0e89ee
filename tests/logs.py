"""The process's logs configured by ops/logs.py into a buffer, for tests, and restored
afterwards (pytest's own log capture included)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from ops.logs import configure_logging


@contextmanager
def captured(mode: str = "production", level: str = "INFO") -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, root.handlers[:]
    stream = io.StringIO()
    structlog.contextvars.clear_contextvars()  # nothing an earlier test bound in this thread
    handler = configure_logging(mode, level, stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for old in saved_handlers:
            root.addHandler(old)
        root.setLevel(saved_level)
        logging.captureWarnings(False)
        structlog.reset_defaults()


def json_lines(text: str) -> list[dict[str, Any]]:
    """The log lines of production mode: one JSON object each."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]
