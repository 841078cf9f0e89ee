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


def test_a_machine_that_declares_why_it_has_no_service_skips_loudly_even_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("FISCAFLOW_TEST_NO_THING", "no Thing can run here")
    with pytest.raises(pytest.skip.Exception, match=r"LOUD SKIP: .*: no Thing can run here"):
        service_missing("Thing is not reachable", declared_by="FISCAFLOW_TEST_NO_THING")
    monkeypatch.setenv("FISCAFLOW_TEST_NO_THING", "")  # declared empty: no reason, so it fails
    with pytest.raises(pytest.fail.Exception, match="not reachable"):
        service_missing("Thing is not reachable", declared_by="FISCAFLOW_TEST_NO_THING")
