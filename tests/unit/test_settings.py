"""Settings: parsing, production refusals, and the README's generated reference."""

from __future__ import annotations

import inspect
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
    source = inspect.getsource(Settings.from_env)
    read = set(re.findall(r'"((?:FISCAFLOW|DATABASE|REDIS|RABBITMQ|ELASTICSEARCH|S3|SMTP)_[A-Z_]+)"', source))
    assert read == {s.name for s in SETTINGS}


STRONG = "k3Jd9-sL2mQ8xV7pR4tY1wZ6nB0cF5hGaE"


def test_defaults_are_development_with_the_embedded_database() -> None:
    settings = Settings.from_env({})
    assert (settings.mode, settings.database_url, settings.jwt_secret) == ("development", None, None)
    assert settings.openapi_docs


def test_production_turns_interactive_docs_off_by_default() -> None:
    env = {
        "FISCAFLOW_MODE": "production",
        "DATABASE_URL": "postgresql://h/db",
        "FISCAFLOW_JWT_SECRET": STRONG,
    }
    settings = Settings.from_env(env)
    assert not settings.openapi_docs
    assert settings.jwt_secret == STRONG


@pytest.mark.parametrize(
    "env",
    [
        {
            "FISCAFLOW_MODE": "production",
            "DATABASE_URL": "postgresql://h/db",
            "FISCAFLOW_JWT_SECRET": STRONG,  # all else is right: the switch alone is refused
            "FISCAFLOW_DEV_TENANT_HEADER": "1",
        },
        {
            "FISCAFLOW_MODE": "production",
            "DATABASE_URL": "postgresql://h/db",
            "FISCAFLOW_JWT_SECRET": STRONG,
            "FISCAFLOW_WEBHOOK_PRIVATE_NETWORKS": "true",
        },
        {"FISCAFLOW_MODE": "production", "DATABASE_URL": "postgresql://h/db", "FISCAFLOW_JWT_SECRET": ""},
        {
            "FISCAFLOW_MODE": "production",
            "DATABASE_URL": "postgresql://h/db",
            "FISCAFLOW_JWT_SECRET": "changeme",
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
