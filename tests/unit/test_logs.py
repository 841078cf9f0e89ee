"""configure_logging: one pipeline for the standard library's loggers and structlog's, JSON
lines in production, console lines in development, context and masking on every line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
import structlog

from tests.logs import captured

Logs = Callable[[str], io.StringIO]


@pytest.fixture
def logs() -> Iterator[Logs]:
    """configure_logging into a buffer; the process's logging is restored afterwards."""
    with ExitStack() as stack:
        yield lambda mode: stack.enter_context(captured(mode))


def emit() -> None:
    with structlog.contextvars.bound_contextvars(correlation_id="req-42"):
        logging.getLogger("fiscaflow.test").info("registered %s", "ana@example.org")
        logging.getLogger("uvicorn.error").warning("uvicorn says %s", "hello")
        structlog.get_logger("fiscaflow.native").info("native", password="hunter2")
        try:
            raise RuntimeError("card 4111 1111 1111 1111 declined")
        except RuntimeError:
            logging.getLogger("fiscaflow.test").exception("failed")


def test_production_writes_one_json_object_per_line(logs: Logs) -> None:
    stream = logs("production")
    emit()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == [
        "registered [email]",
        "uvicorn says hello",
        "native",
        "failed",
    ]
    assert [line["logger"] for line in lines] == [
        "fiscaflow.test", "uvicorn.error", "fiscaflow.native", "fiscaflow.test"
    ]  # fmt: skip
    assert [line["level"] for line in lines] == ["info", "warning", "info", "error"]
    assert {line["correlation_id"] for line in lines} == {"req-42"}
    assert all(line["timestamp"].endswith("Z") for line in lines)  # ISO, UTC
    assert lines[2]["password"] == "[masked]"
    assert "RuntimeError: card **** **** **** 1111 declined" in lines[3]["exception"]


def test_development_writes_readable_lines_that_are_not_json(logs: Logs) -> None:
    stream = logs("development")
    emit()
    text = stream.getvalue()
    assert "registered [email]" in text and "correlation_id=req-42" in text
    assert "password=[masked]" in text and "Traceback" in text
    assert "\x1b[" not in text  # no colours when the stream is not a terminal
    for line in text.splitlines():
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)
    assert "ana@example.org" not in text and "hunter2" not in text and "4111 1111" not in text


def test_context_is_not_carried_past_its_binding(logs: Logs) -> None:
    stream = logs("production")
    emit()
    logging.getLogger("fiscaflow.test").info("later")
    assert "correlation_id" not in json.loads(stream.getvalue().splitlines()[-1])
