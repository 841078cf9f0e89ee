"""Typed settings, read once from the environment (nothing else reads ``os.environ``)."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import platformdirs

Mode = Literal["development", "production"]
DEFAULT_HOME = Path(platformdirs.user_data_dir("fiscaflow"))


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
    Setting("FISCAFLOW_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR (JSON log lines in production)."),
    Setting("FISCAFLOW_HOME", "per-user data folder", "Where the embedded PostgreSQL keeps its data."),
    Setting("DATABASE_URL", "(embedded PostgreSQL)", "PostgreSQL URL, e.g. `postgresql://user:pw@host:5432/db`."),
    Setting("REDIS_URL", "(in-memory store)", "Redis for rate limits, login throttling, token deny-list."),
    Setting("RABBITMQ_URL", "(in-process memory://)", "AMQP URL the relay publishes integration events to."),
    Setting("ELASTICSEARCH_URL", "(PostgreSQL full-text search)", "Search transactions on Elasticsearch."),
    Setting("FISCAFLOW_JWT_SECRET", "random (development)", "HS256 key, 32+ chars; required in production."),
    Setting("FISCAFLOW_CORS_ORIGINS", "(none)", "Comma-separated origins allowed to call the API."),
    Setting("FISCAFLOW_RATE_LIMIT", "600", "Requests per minute per client address (0 disables)."),
    Setting("FISCAFLOW_DB_POOL_SIZE", "8", "Connections per pool (event store and read side each)."),
    Setting("FISCAFLOW_LOCK_TIMEOUT", "5", "Seconds an append waits for the events table lock."),
    Setting("FISCAFLOW_SNAPSHOT_INTERVAL", "100", "Snapshot an account every N events (0 disables)."),
    Setting("FISCAFLOW_AGGREGATE_CACHE", "10000", "Aggregates kept in memory per process (0 disables)."),
    Setting("FISCAFLOW_CONSISTENCY_WAIT", "2.0", "Seconds a query waits for its consistency token at most."),
    Setting("FISCAFLOW_RUN_PROJECTORS", "true", "Run the projectors as threads inside `fiscaflow serve`."),
    Setting("FISCAFLOW_RUN_WORKERS", "true", "Run periodic jobs and the relay inside `fiscaflow serve`."),
    Setting("FISCAFLOW_READY_MAX_LAG", "300", "/ready fails when a read model is this many seconds behind."),
    Setting("FISCAFLOW_OPENAPI_DOCS", "true in development", "Serve interactive API docs under /schema."),
    Setting("S3_ENDPOINT", "(a folder under FISCAFLOW_HOME)", "S3 URL for receipts and exports, e.g. `http://minio:9000`."),
    Setting("S3_ACCESS_KEY", "(none)", "S3 access key (with S3_ENDPOINT)."),
    Setting("S3_SECRET_KEY", "(none)", "S3 secret key (with S3_ENDPOINT)."),
    Setting("S3_BUCKET", "fiscaflow", "Bucket for receipts and exports (created if missing)."),
    Setting("S3_REGION", "(none)", "S3 region, if the endpoint needs one."),
    Setting("FISCAFLOW_MAX_RECEIPT_BYTES", "10485760", "Largest receipt accepted, in bytes."),
    Setting("FISCAFLOW_EXPORT_INLINE_ROWS", "10000", "Larger exports go to file storage as a link."),
    Setting("FISCAFLOW_CATEGORISER_THRESHOLD", "0.7", "Confidence (0-1) needed to set a learned category."),
    Setting("SMTP_HOST", "(no email)", "SMTP server for email notifications (without it: none sent)."),
    Setting("SMTP_PORT", "25", "SMTP port (587 with SMTP_STARTTLS, 465 is not supported)."),
    Setting("SMTP_FROM", "fiscaflow@localhost", "Sender address of notification emails."),
    Setting("SMTP_USERNAME", "(none)", "SMTP login, if the server wants one (with SMTP_PASSWORD)."),
    Setting("SMTP_PASSWORD", "(none)", "SMTP password."),
    Setting("SMTP_STARTTLS", "false", "Upgrade the SMTP connection with STARTTLS."),
    Setting("FISCAFLOW_WEBHOOK_PRIVATE_NETWORKS", "false", "Let webhooks reach loopback/private addresses."),
    Setting("FISCAFLOW_DELIVERY_INTERVAL", "2.0", "Seconds between rounds of email and webhook sending."),
    Setting("FISCAFLOW_SCHEDULE_INTERVAL", "60.0", "Seconds between runs of schedules and bill checks."),
    Setting("FISCAFLOW_AUDIT_SIGNING_KEY", "(none: no exports)",
            "Ed25519 key (base64) signing `audit export` bundles; `audit keygen` makes one."),
)  # fmt: skip

WEAK_SECRETS = frozenset(
    {"secret", "changeme", "change-me", "password", "fiscaflow", "jwt-secret", "development"}
)
MIN_SECRET_LENGTH = 32
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {value!r}")


def _number(env: Mapping[str, str], name: str, default: str, kind: type[int] | type[float]) -> int | float:
    value = env.get(name, default)
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
    log_level: str = "INFO"
    home: Path = DEFAULT_HOME
    database_url: str | None = None
    redis_url: str | None = None
    rabbitmq_url: str | None = None
    elasticsearch_url: str | None = None
    jwt_secret: str | None = None
    cors_origins: tuple[str, ...] = ()
    rate_limit: int = 600
    db_pool_size: int = 8
    lock_timeout: int = 5
    snapshot_interval: int = 100
    aggregate_cache: int = 10000
    consistency_wait: float = 2.0
    run_projectors: bool = True
    run_workers: bool = True
    ready_max_lag: float = 300.0
    openapi_docs: bool = True
    categoriser_threshold: float = 0.7
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "fiscaflow"
    s3_region: str | None = None
    max_receipt_bytes: int = 10 * 1024 * 1024
    export_inline_rows: int = 10_000
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "fiscaflow@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    webhook_private_networks: bool = False
    delivery_interval: float = 2.0
    schedule_interval: float = 60.0
    audit_signing_key: str | None = None  # base64 of an Ed25519 private key's 32 bytes

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mode = env.get("FISCAFLOW_MODE", "development")
        if mode not in ("development", "production"):
            raise SettingsError(f"FISCAFLOW_MODE must be development or production, not {mode!r}")
        if mode == "production":
            check_no_development_switches(env)
        origins = env.get("FISCAFLOW_CORS_ORIGINS", "")
        settings = cls(
            mode=mode,  # type: ignore[arg-type]
            log_level=env.get("FISCAFLOW_LOG_LEVEL", "INFO").strip().upper(),
            home=Path(env["FISCAFLOW_HOME"]) if env.get("FISCAFLOW_HOME") else DEFAULT_HOME,
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            rabbitmq_url=env.get("RABBITMQ_URL") or None,
            elasticsearch_url=env.get("ELASTICSEARCH_URL") or None,
            jwt_secret=env.get("FISCAFLOW_JWT_SECRET") or None,
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            rate_limit=int(_number(env, "FISCAFLOW_RATE_LIMIT", "600", int)),
            db_pool_size=int(_number(env, "FISCAFLOW_DB_POOL_SIZE", "8", int)),
            lock_timeout=int(_number(env, "FISCAFLOW_LOCK_TIMEOUT", "5", int)),
            snapshot_interval=int(_number(env, "FISCAFLOW_SNAPSHOT_INTERVAL", "100", int)),
            aggregate_cache=int(_number(env, "FISCAFLOW_AGGREGATE_CACHE", "10000", int)),
            consistency_wait=float(_number(env, "FISCAFLOW_CONSISTENCY_WAIT", "2.0", float)),
            run_projectors=_flag(env.get("FISCAFLOW_RUN_PROJECTORS", "true"), "FISCAFLOW_RUN_PROJECTORS"),
            run_workers=_flag(env.get("FISCAFLOW_RUN_WORKERS", "true"), "FISCAFLOW_RUN_WORKERS"),
            ready_max_lag=float(_number(env, "FISCAFLOW_READY_MAX_LAG", "300", float)),
            s3_endpoint=env.get("S3_ENDPOINT") or None,
            s3_access_key=env.get("S3_ACCESS_KEY") or None,
            s3_secret_key=env.get("S3_SECRET_KEY") or None,
            s3_bucket=env.get("S3_BUCKET") or "fiscaflow",
            s3_region=env.get("S3_REGION") or None,
            max_receipt_bytes=int(_number(env, "FISCAFLOW_MAX_RECEIPT_BYTES", "10485760", int)),
            export_inline_rows=int(_number(env, "FISCAFLOW_EXPORT_INLINE_ROWS", "10000", int)),
            categoriser_threshold=float(_number(env, "FISCAFLOW_CATEGORISER_THRESHOLD", "0.7", float)),
            smtp_host=env.get("SMTP_HOST") or None,
            smtp_port=int(_number(env, "SMTP_PORT", "25", int)),
            smtp_from=env.get("SMTP_FROM") or "fiscaflow@localhost",
            smtp_username=env.get("SMTP_USERNAME") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            smtp_starttls=_flag(env.get("SMTP_STARTTLS", "false"), "SMTP_STARTTLS"),
            webhook_private_networks=_flag(
                env.get("FISCAFLOW_WEBHOOK_PRIVATE_NETWORKS", "false"), "FISCAFLOW_WEBHOOK_PRIVATE_NETWORKS"
            ),
            delivery_interval=float(_number(env, "FISCAFLOW_DELIVERY_INTERVAL", "2.0", float)),
            schedule_interval=float(_number(env, "FISCAFLOW_SCHEDULE_INTERVAL", "60.0", float)),
            audit_signing_key=env.get("FISCAFLOW_AUDIT_SIGNING_KEY") or None,
            openapi_docs=_flag(
                env.get("FISCAFLOW_OPENAPI_DOCS", str(mode == "development")), "FISCAFLOW_OPENAPI_DOCS"
            ),
        )
        settings.check()
        return settings

    @property
    def development(self) -> bool:
        return self.mode == "development"

    def check(self) -> None:
        """Production refuses a missing or weak JWT secret and the embedded database."""
        if self.jwt_secret is not None:
            check_secret(self.jwt_secret)
        if self.s3_endpoint and not (self.s3_access_key and self.s3_secret_key):
            raise SettingsError("S3_ENDPOINT needs S3_ACCESS_KEY and S3_SECRET_KEY")
        if bool(self.smtp_username) != bool(self.smtp_password):
            raise SettingsError("SMTP_USERNAME and SMTP_PASSWORD go together")
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"FISCAFLOW_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        if not 0.0 <= self.categoriser_threshold <= 1.0:
            raise SettingsError("FISCAFLOW_CATEGORISER_THRESHOLD lies between 0 and 1")
        if self.audit_signing_key is not None:
            check_signing_key(self.audit_signing_key)
        if self.development:
            return
        if self.jwt_secret is None:
            raise SettingsError("production needs FISCAFLOW_JWT_SECRET (32+ random characters)")
        if not self.database_url:
            raise SettingsError("production needs DATABASE_URL (the embedded PostgreSQL is for development)")

    def with_secret(self, secret: str) -> Settings:
        return replace(self, jwt_secret=secret)


DEVELOPMENT_ONLY = ("FISCAFLOW_WEBHOOK_PRIVATE_NETWORKS",)  # switches that are never on in production


def check_no_development_switches(env: Mapping[str, str]) -> None:
    """Production refuses development-only switches: letting webhooks reach private and
    loopback addresses (a server-side request forgery), and any FISCAFLOW_DEV_* variable."""
    on = [
        name for name in DEVELOPMENT_ONLY if env.get(name, "").strip().lower() in ("1", "true", "yes", "on")
    ]
    on += sorted(name for name in env if name.startswith("FISCAFLOW_DEV_"))
    if on:
        raise SettingsError(f"production refuses development-only switches: {', '.join(on)}")


def check_secret(secret: str) -> None:
    if len(secret) < MIN_SECRET_LENGTH or secret.lower() in WEAK_SECRETS or len(set(secret)) < 8:
        raise SettingsError(
            f"FISCAFLOW_JWT_SECRET must be {MIN_SECRET_LENGTH}+ random characters, not a default"
        )


def check_signing_key(key: str) -> None:
    try:
        raw = base64.b64decode(key.strip(), validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SettingsError("FISCAFLOW_AUDIT_SIGNING_KEY is an Ed25519 key: 32 bytes in base64")


def markdown_table() -> str:
    """The configuration reference of the README, generated so that it cannot drift."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{s.name}` | {s.default} | {s.meaning} |" for s in SETTINGS]
    return "\n".join(lines)


__all__ = ["SETTINGS", "Settings", "SettingsError", "markdown_table"]
