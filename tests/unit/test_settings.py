"""Settings: parsing, production refusals, and the README's generated reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ops.settings import SETTINGS, Settings, SettingsError, markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_configuration_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("<!-- settings:start -->\n")[1].split("\n<!-- settings:end -->")[0]
    assert section == markdown_table()


def test_every_variable_the_settings_read_is_documented() -> None:
    source = (ROOT / "ops" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.get\(|\[)"([A-Z_]+)"', source))
    assert read == {s.name for s in SETTINGS}


def test_defaults_are_development_with_the_embedded_database() -> None:
    settings = Settings.from_env({})
    assert (settings.mode, settings.database_url, settings.dev_tenant_header) == ("development", None, True)


def test_production_turns_development_switches_off_by_default() -> None:
    settings = Settings.from_env({"FISCAFLOW_MODE": "production", "DATABASE_URL": "postgresql://h/db"})
    assert not settings.dev_tenant_header
    assert not settings.openapi_docs


@pytest.mark.parametrize(
    "env",
    [
        {
            "FISCAFLOW_MODE": "production",
            "DATABASE_URL": "postgresql://h/db",
            "FISCAFLOW_DEV_TENANT_HEADER": "1",
        },
        {"FISCAFLOW_MODE": "production"},
        {"FISCAFLOW_MODE": "prod"},
        {"FISCAFLOW_LOCK_TIMEOUT": "-1"},
        {"FISCAFLOW_CONSISTENCY_WAIT": "soon"},
        {"FISCAFLOW_RUN_PROJECTORS": "maybe"},
    ],
)
def test_unsafe_or_malformed_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)
