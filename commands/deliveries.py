"""Sending notifications by email (SMTP) and webhook (HMAC-signed HTTP POST), at most once.

A round claims due deliveries (``FOR UPDATE SKIP LOCKED``, so several senders share the
work) by marking them ``sending`` and committing, and only then sends. A sender killed
while sending leaves the row ``sending``; the next round marks such rows ``unknown`` and
never sends them again: at most once per channel, also across restarts. A delivery is
tried again, with exponential back-off, only when the receiver certainly did not take it:
the connection failed, or it answered 408, 429 or 5xx (SMTP: a 4xx reply). A timeout after
the request went out is ``unknown``, not retried. Webhooks follow the Standard Webhooks
signature scheme (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64
HMAC-SHA256 of "id.timestamp.body">``); receivers dedupe by ``webhook-id``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import smtplib
import socket
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ops.settings import Settings

MAX_ATTEMPTS = 6
MAX_BACKOFF = 3600.0
BATCH = 50
STALE = dt.timedelta(minutes=10)


class Retry(Exception):
    """The receiver certainly did not take it: try again later."""


class Refused(Exception):
    """The receiver refused it for good (or it cannot be sent): do not try again."""


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def check_public(url: str) -> None:
    """Refuse webhooks to loopback, private, link-local and reserved addresses (SSRF)."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as error:
        raise Retry(f"cannot resolve {host}: {error}") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise Refused(f"{host} resolves to a non-public address")


class Sender:
    def __init__(self, settings: Settings, pool: ConnectionPool[Any], timeout: float = 10.0) -> None:
        self.settings, self.pool, self.timeout = settings, pool, timeout

    def round(self, now: dt.datetime | None = None) -> int:
        """Send what is due by ``now``; returns how many deliveries were handled."""
        now = now or dt.datetime.now(dt.UTC)
        handled = 0
        while claimed := self._claim(now):
            for row in claimed:
                self._finish(row, *self._attempt(row), now)
            handled += len(claimed)
            if len(claimed) < BATCH:
                break
        return handled

    def _claim(self, now: dt.datetime) -> list[dict[str, Any]]:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as curs:
            curs.execute(
                "UPDATE notify.deliveries SET status = 'unknown', last_error = 'interrupted while sending',"
                " updated_at = %s WHERE status = 'sending' AND updated_at < %s",
                (now, now - STALE),
            )
            curs.execute(
                "UPDATE notify.deliveries SET status = 'sending', attempts = attempts + 1, updated_at = %s"
                " WHERE delivery_id IN (SELECT delivery_id FROM notify.deliveries WHERE status = 'pending'"
                " AND not_before <= %s ORDER BY not_before LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *",
                (now, now, BATCH),
            )
            return curs.fetchall()

    def _attempt(self, row: dict[str, Any]) -> tuple[str, str | None]:
        try:
            if row["channel"] == "email":
                self._email(row)
            else:
                self._webhook(row)
        except Retry as error:
            if row["attempts"] >= MAX_ATTEMPTS:
                return "failed", f"gave up after {row['attempts']} attempts: {error}"
            return "pending", str(error)
        except Refused as error:
            return "failed", str(error)
        except Exception as error:  # the request may have gone out: never again
            return "unknown", f"{type(error).__name__}: {error}"
        return "sent", None

    def _finish(self, row: dict[str, Any], status: str, error: str | None, now: dt.datetime) -> None:
        delay = min(MAX_BACKOFF, self.settings.delivery_interval * 2 ** row["attempts"])
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                "UPDATE notify.deliveries SET status = %s, last_error = %s, updated_at = %s,"
                " not_before = %s WHERE delivery_id = %s",
                (status, error, now, now + dt.timedelta(seconds=delay), row["delivery_id"]),
            )

    def _lookup(self, query: str, key: Any) -> dict[str, Any] | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as curs:
            curs.execute(query, (key,))
            return curs.fetchone()

    # --- email ---------------------------------------------------------------------------

    def _email(self, row: dict[str, Any]) -> None:
        s = self.settings
        if not s.smtp_host:
            raise Refused("no SMTP server configured (SMTP_HOST)")
        person = self._lookup(
            "SELECT email, display_name FROM read_directory.users WHERE user_id = %s AND status = 'active'",
            row["user_id"],
        )
        if person is None:
            raise Refused("the person has no active account")
        message = EmailMessage()
        message["From"], message["To"] = s.smtp_from, person["email"]
        message["Subject"] = row["payload"]["title"]
        message["Message-ID"] = f"<{row['delivery_id']}@fiscaflow>"
        message.set_content(f"Hello {person['display_name']},\n\n{row['payload']['body']}\n\nFiscaFlow\n")
        try:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
        except OSError as error:  # nothing went out
            raise Retry(f"SMTP connection failed: {error}") from None
        with smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password)
            try:
                smtp.send_message(message)
            except smtplib.SMTPResponseException as error:
                kind = Retry if 400 <= error.smtp_code < 500 else Refused
                raise kind(f"SMTP {error.smtp_code}: {error.smtp_error!r}") from None
            except smtplib.SMTPRecipientsRefused as error:
                raise Refused(f"recipient refused: {error.recipients}") from None

    # --- webhooks ------------------------------------------------------------------------

    def _webhook(self, row: dict[str, Any]) -> None:
        hook = self._lookup(
            "SELECT w.url, w.removed, s.secret FROM read_notifications.webhooks w"
            " LEFT JOIN auth.webhook_secrets s USING (webhook_id) WHERE w.webhook_id = %s",
            row["webhook_id"],
        )
        if hook is None or hook["removed"] or hook["secret"] is None:
            raise Refused("the webhook was removed")
        if not self.settings.webhook_private_networks:
            check_public(hook["url"])
        body = json.dumps(
            {
                "type": row["kind"],
                "notification_id": str(row["notification_id"]),
                "household_id": str(row["household_id"]),
                "created_at": row["created_at"].isoformat(),
                **row["payload"],
            },
            separators=(",", ":"),
        ).encode()
        message_id, timestamp = str(row["delivery_id"]), int(dt.datetime.now(dt.UTC).timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(hook["secret"], message_id, timestamp, body),
        }
        try:
            response = httpx.post(hook["url"], content=body, headers=headers, timeout=self.timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:  # nothing went out
            raise Retry(f"connection failed: {error}") from None
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise Retry(f"the receiver answered {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise Refused(f"the receiver answered {response.status_code}")
