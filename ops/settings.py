"""Typed settings, read once from the environment (nothing else reads ``os.environ``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs

Mode = Literal["development", "production"]


class SettingsError(ValueError):
    """A setting is missing, malformed, or not allowed in this mode."""


@dataclass(frozen=True, slots=True)
class Setting:
    """Documentation of one environment variable (the README table is generated from these)."""

    name: str
    default: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting("FISCAFLOW_MODE", "development", "`development` or `production` (stricter)."),
    Setting("FISCAFLOW_HOME", "per-user data folder", "Where the embedded PostgreSQL keeps its data."),
    Setting("DATABASE_URL", "(embedded PostgreSQL)", "PostgreSQL URL, e.g. `postgresql://user:pw@host:5432/db`."),
    Setting("FISCAFLOW_DB_POOL_SIZE", "8", "Connections per pool (event store and read side each)."),
    Setting("FISCAFLOW_LOCK_TIMEOUT", "5", "Seconds an append waits for the events table lock."),
    Setting("FISCAFLOW_SNAPSHOT_INTERVAL", "100", "Snapshot an account every N events (0 disables)."),
    Setting("FISCAFLOW_AGGREGATE_CACHE", "10000", "Aggregates kept in memory per process (0 disables)."),
    Setting("FISCAFLOW_CONSISTENCY_WAIT", "2.0", "Seconds a query waits for its consistency token at most."),
    Setting("FISCAFLOW_DEV_TENANT_HEADER", "true in development", "Trust `X-Household-Id` (development)."),
    Setting("FISCAFLOW_RUN_PROJECTORS", "true", "Run the projectors as threads inside `fiscaflow serve`."),
    Setting("FISCAFLOW_OPENAPI_DOCS", "true in development", "Serve interactive API docs under /schema."),
)  # fmt: skip


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {value!r}")


def _number(value: str, name: str, kind: type[int] | type[float]) -> int | float:
    try:
        number = kind(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {value!r}") from None
    if number < 0:
        raise SettingsError(f"{name} must not be negative")
    return number


@dataclass(frozen=True, slots=True)
class Settings:
    mode: Mode = "development"
    home: Path = Path(platformdirs.user_data_dir("fiscaflow"))
    database_url: str | None = None
    db_pool_size: int = 8
    lock_timeout: int = 5
    snapshot_interval: int = 100
    aggregate_cache: int = 10000
    consistency_wait: float = 2.0
    dev_tenant_header: bool = True
    run_projectors: bool = True
    openapi_docs: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mode = env.get("FISCAFLOW_MODE", "development")
        if mode not in ("development", "production"):
            raise SettingsError(f"FISCAFLOW_MODE must be development or production, not {mode!r}")
        dev = mode == "development"
        settings = cls(
            mode=mode,  # type: ignore[arg-type]
            home=Path(env["FISCAFLOW_HOME"]) if env.get("FISCAFLOW_HOME") else cls.home,
            database_url=env.get("DATABASE_URL") or None,
            db_pool_size=int(_number(env.get("FISCAFLOW_DB_POOL_SIZE", "8"), "FISCAFLOW_DB_POOL_SIZE", int)),
            lock_timeout=int(_number(env.get("FISCAFLOW_LOCK_TIMEOUT", "5"), "FISCAFLOW_LOCK_TIMEOUT", int)),
            snapshot_interval=int(
                _number(env.get("FISCAFLOW_SNAPSHOT_INTERVAL", "100"), "FISCAFLOW_SNAPSHOT_INTERVAL", int)
            ),
            aggregate_cache=int(
                _number(env.get("FISCAFLOW_AGGREGATE_CACHE", "10000"), "FISCAFLOW_AGGREGATE_CACHE", int)
            ),
            consistency_wait=float(
                _number(env.get("FISCAFLOW_CONSISTENCY_WAIT", "2.0"), "FISCAFLOW_CONSISTENCY_WAIT", float)
            ),
            dev_tenant_header=_flag(
                env.get("FISCAFLOW_DEV_TENANT_HEADER", str(dev)), "FISCAFLOW_DEV_TENANT_HEADER"
            ),
            run_projectors=_flag(env.get("FISCAFLOW_RUN_PROJECTORS", "true"), "FISCAFLOW_RUN_PROJECTORS"),
            openapi_docs=_flag(env.get("FISCAFLOW_OPENAPI_DOCS", str(dev)), "FISCAFLOW_OPENAPI_DOCS"),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Production refuses development-only switches and the embedded database."""
        if self.mode != "production":
            return
        if self.dev_tenant_header:
            raise SettingsError(
                "FISCAFLOW_DEV_TENANT_HEADER is a development-only switch; production refuses it"
            )
        if not self.database_url:
            raise SettingsError("production needs DATABASE_URL (the embedded PostgreSQL is for development)")


def markdown_table() -> str:
    """The configuration reference of the README, generated so that it cannot drift."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{s.name}` | {s.default} | {s.meaning} |" for s in SETTINGS]
    return "\n".join(lines)


__all__ = ["SETTINGS", "Settings", "SettingsError", "markdown_table"]
