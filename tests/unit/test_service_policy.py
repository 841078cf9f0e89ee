"""A test whose service is missing fails under CI and only skips on a laptop."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import declared_unavailable, service_missing


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


@dataclass
class Item:
    """Enough of a collected test for the selection: its name and its markers."""

    name: str
    markers: tuple[str, ...] = ()

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.markers else None


def test_tests_needing_a_service_the_machine_declares_it_cannot_have_are_deselected() -> None:
    items = [Item("search", ("integration", "elasticsearch")), Item("ledger", ("integration",))]
    kept, dropped = declared_unavailable(items, {"FISCAFLOW_TEST_NO_ELASTICSEARCH": "none can run here"})
    assert kept == [items[1]]
    assert dropped == {"elasticsearch": ("none can run here", [items[0]])}
    for env in ({}, {"FISCAFLOW_TEST_NO_ELASTICSEARCH": "  "}):  # no reason given: nothing dropped
        assert declared_unavailable(items, env) == (items, {})
