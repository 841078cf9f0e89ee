"""What queries answer: read-model rows as msgspec Structs (amounts as decimal strings)."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec


class SharingView(msgspec.Struct, kw_only=True):
    """What other members may do: a default level and per-member exceptions (by user id)."""

    default: str
    members: dict[str, str]


class AccountView(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    kind: str
    currency: str
    status: str
    balance: str = msgspec.field(name="balance")
    minimum_balance: str | None
    version: int
    opened_at: dt.datetime
    updated_at: dt.datetime
    owner_id: UUID | None
    sharing: SharingView
    your_access: str
    reconciled_until: dt.date | None


class BalanceView(msgspec.Struct, kw_only=True):
    account_id: UUID
    currency: str
    balance: str
    as_of: dt.date | None
    postings: int


class TransactionView(msgspec.Struct, kw_only=True):
    id: UUID
    version: int
    kind: str
    status: str
    date: dt.date
    description: str
    merchant: str | None
    category: str | None
    tags: list[str]
    notes: str | None
    amount: str
    currency: str
    account_id: UUID
    to_account_id: UUID | None
    reconciled: bool
    recorded_at: dt.datetime
    updated_at: dt.datetime


class TransactionPage(msgspec.Struct, kw_only=True):
    items: list[TransactionView]
    next_cursor: str | None


class ProfileView(msgspec.Struct, kw_only=True):
    id: UUID
    email: str
    display_name: str
    role: str
    status: str
    email_verified: bool
    registered_at: dt.datetime
    last_login_at: dt.datetime | None
    version: int


class MemberView(msgspec.Struct, kw_only=True):
    user_id: UUID
    display_name: str
    role: str
    joined_at: dt.datetime


class HouseholdView(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    role: str
    members: list[MemberView]
