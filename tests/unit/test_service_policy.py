"""A test whose service is missing fails under CI and only skips on a laptop."""

from __future__ import annotations

import pytest

from tests.conftest import service_missing


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_ci_turns_a_missing_service_into_a_failure(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="not reachable"):
        service_missing("PostgreSQL at nowhere is not reachable")


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_outside_ci_a_missing_service_is_a_loud_skip(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match="LOUD SKIP"):
        service_missing("Redis at nowhere is not reachable")
