"""A person's balance monitors, with the watched account's current balance."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec

from ledger.errors import NotFoundError
from queries.db import ACCOUNTS_SCHEMA, MONITORS_SCHEMA, ReadStore
from queries.transactions import hidden_accounts


class MonitorView(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    account_id: UUID
    threshold: str
    currency: str
    direction: str
    balance: str | None  # the account's balance now (accounts read model)
    version: int
    created_at: dt.datetime


def list_monitors(
    reads: ReadStore, household_id: UUID, viewer: UUID | None, monitor_id: UUID | None = None
) -> list[MonitorView]:
    """The viewer's monitors (all of the household's for the system) on accounts they see."""
    with reads.cursor() as curs:
        hidden = hidden_accounts(curs, household_id, viewer)
        curs.execute(
            f"SELECT m.monitor_id AS id, m.name, m.account_id, m.threshold::text, m.currency, m.direction,"  # noqa: S608
            f" a.balance::text AS balance, m.version, m.created_at FROM {MONITORS_SCHEMA}.monitors m"
            f" LEFT JOIN {ACCOUNTS_SCHEMA}.accounts a ON a.account_id = m.account_id"
            " WHERE m.household_id = %s AND NOT m.deleted AND m.account_id <> ALL(%s)"
            " AND (%s::uuid IS NULL OR m.owner_id IS NULL OR m.owner_id = %s)"
            " AND (%s::uuid IS NULL OR m.monitor_id = %s) ORDER BY m.created_at, m.monitor_id",
            (household_id, hidden, viewer, viewer, monitor_id, monitor_id),
        )
        return [MonitorView(**row) for row in curs.fetchall()]


def get_monitor(reads: ReadStore, household_id: UUID, monitor_id: UUID, viewer: UUID | None) -> MonitorView:
    found = list_monitors(reads, household_id, viewer, monitor_id)
    if not found:
        raise NotFoundError(f"no balance monitor {monitor_id}")
    return found[0]
