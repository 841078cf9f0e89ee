"""Queries over import batches (in the transactions read model)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.errors import NotFoundError
from queries.db import TRANSACTIONS_SCHEMA, ReadStore
from queries.views import ImportView, RejectedLine

S = TRANSACTIONS_SCHEMA


def _view(row: dict[str, Any]) -> ImportView:
    source, report = row["source"], row["report"] or {}
    return ImportView(
        id=row["batch_id"],
        account_id=row["account_id"],
        format=source["format"],
        file_name=source.get("file_name"),
        sha256=source["sha256"],
        lines=report.get("lines"),
        added=report.get("added"),
        duplicates=report.get("duplicates"),
        transfers=report.get("transfers"),
        rejected=[RejectedLine(line=n, reason=r) for n, r in report["rejected"]] if report else None,
        rejected_count=report.get("rejected_count"),
        reverted=row["reverted"],
        started_at=row["started_at"],
        updated_at=row["updated_at"],
    )


def list_imports(store: ReadStore, household_id: UUID, viewer: UUID | None) -> list[ImportView]:
    """The last 100 imports into accounts the viewer can see, newest first."""
    with store.cursor() as curs:
        curs.execute(
            f"SELECT i.* FROM {S}.imports i WHERE household_id = %s AND NOT EXISTS ("  # noqa: S608
            f" SELECT 1 FROM {S}.account_access a WHERE a.account_id = i.account_id"
            " AND a.owner_id IS DISTINCT FROM %s"
            " AND coalesce(a.member_access ->> %s, a.default_access) = 'none')"
            " ORDER BY started_at DESC LIMIT 100",
            (household_id, viewer, str(viewer)),
        )
        return [_view(r) for r in curs.fetchall()]


def get_import(store: ReadStore, household_id: UUID, batch_id: UUID, viewer: UUID | None) -> ImportView:
    with store.cursor() as curs:
        curs.execute(
            f"SELECT i.* FROM {S}.imports i WHERE household_id = %s AND batch_id = %s AND NOT EXISTS ("  # noqa: S608
            f" SELECT 1 FROM {S}.account_access a WHERE a.account_id = i.account_id"
            " AND a.owner_id IS DISTINCT FROM %s"
            " AND coalesce(a.member_access ->> %s, a.default_access) = 'none')",
            (household_id, batch_id, viewer, str(viewer)),
        )
        row = curs.fetchone()
    if row is None:
        raise NotFoundError(f"no import {batch_id}")
    return _view(row)
