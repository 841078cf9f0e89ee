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
    categorization_source: str | None  # manual, rule or ml (the learned categoriser)
    confidence: float | None
    rule_id: UUID | None  # the rule that set the category, if one did
    import_batch_id: UUID | None  # the import it came from, if it was imported
    receipts: int  # files attached (GET .../receipts lists them)
    expires_at: dt.datetime | None  # a pending transaction's hold runs out then
    original_amount: str | None  # paid in another currency: that amount,
    original_currency: str | None  # its currency,
    rate: str | None  # and the rate used (account currency per unit)
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


class CategoryView(msgspec.Struct, kw_only=True):
    name: str
    parent: str | None
    kind: str
    archived: bool
    builtin: bool


class TriggerView(msgspec.Struct, kw_only=True):
    field: str
    op: str
    value: str


class ActionsView(msgspec.Struct, kw_only=True):
    set_category: str | None = None
    add_tags: list[str] = msgspec.field(default_factory=list)
    set_notes: str | None = None


class RuleView(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    triggers: list[TriggerView]
    actions: ActionsView
    match: str
    priority: int
    active: bool


class RuleRunView(msgspec.Struct, kw_only=True):
    run_id: UUID
    rule_id: UUID
    transactions: int
    undone: bool
    ran_at: dt.datetime


class RejectedLine(msgspec.Struct, kw_only=True):
    line: int
    reason: str


class ImportView(msgspec.Struct, kw_only=True):
    """An import batch and its report (``report`` is null while it runs)."""

    id: UUID
    account_id: UUID
    format: str
    file_name: str | None
    sha256: str
    lines: int | None
    added: int | None
    duplicates: int | None
    transfers: int | None
    rejected: list[RejectedLine] | None
    rejected_count: int | None
    reverted: bool
    started_at: dt.datetime
    updated_at: dt.datetime


class ReceiptView(msgspec.Struct, kw_only=True):
    sha256: str
    name: str
    content_type: str
    size: int
    attached_at: dt.datetime


class Rate(msgspec.Struct, kw_only=True):
    """A recorded exchange rate used to convert an amount."""

    source: str  # from this currency
    target: str  # to this one
    rate: str
    recorded_on: dt.date


class PeriodView(msgspec.Struct, kw_only=True):
    """A budget's period: what it allows, what was spent, and what is left."""

    start: dt.date
    end: dt.date
    limit: str
    carried_over: str  # unspent in the previous period (with rollover)
    available: str
    spent: str
    remaining: str
    percent: float  # spent as a percentage of available
    thresholds_reached: list[int]
    # Spending in other currencies counts converted at these recorded rates; amounts in a
    # currency with no recorded rate are not in ``spent`` and are listed here instead.
    rates: list[Rate]
    unconverted: dict[str, str]


class BudgetView(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    categories: list[str]
    covers: list[str]  # the categories and their subcategories
    period: str
    limit: str
    currency: str
    rollover: bool
    thresholds: list[int]
    private: bool
    owner_id: UUID | None
    version: int
    current: PeriodView


class BudgetAlertView(msgspec.Struct, kw_only=True):
    """A threshold reached in a period (once per threshold and period)."""

    id: UUID
    period_start: dt.date
    period_end: dt.date
    threshold: int
    spent: str
    available: str
    currency: str
    crossed_at: dt.datetime


class GoalView(msgspec.Struct, kw_only=True):
    """A savings goal and its progress: the linked accounts' balances against the target;
    the projected completion date follows their net inflow of the last 90 days."""

    id: UUID
    name: str
    target: str
    currency: str
    target_date: dt.date | None
    account_ids: list[UUID]
    saved: str
    remaining: str
    percent: float
    achieved: bool
    saving_per_month: str  # net inflow of the last 90 days, per 30 days
    projected_date: dt.date | None  # null when achieved or when nothing is being saved
    on_track: bool | None  # null without a target date
    needed_per_month: str | None  # to reach the target by its date
    owner_id: UUID | None
    version: int
