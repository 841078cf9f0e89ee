"""Command messages: what a client may ask the ledger to do (msgspec Structs, validated at the edge)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from ledger.money import MINOR_UNITS

PositiveAmount = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(?=[0-9.]*[1-9])[0-9]{1,15}(\.[0-9]{1,4})?$",
        description='A positive decimal string such as "12.34", with no more decimals than the '
        "currency has; JSON numbers are refused.",
        examples=["12.34"],
    ),
]
NonPositiveAmount = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(-[0-9]{1,15}(\.[0-9]{1,4})?|0{1,15}(\.0{1,4})?)$",
        description='Zero or a negative decimal string (debit-positive balances): "0" keeps an '
        'asset account from going negative, "-1000" is a credit limit of 1,000.',
        examples=["0"],
    ),
]
Rate = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{1,7}(\.[0-9]{1,10})?$",
        description="Units of the account's currency per unit of the foreign one.",
        examples=["0.8537"],
    ),
]
CURRENCY_CODES = tuple(sorted(MINOR_UNITS))
Currency = Annotated[
    Literal[CURRENCY_CODES],  # type: ignore[valid-type]
    msgspec.Meta(description="ISO 4217 code", examples=["EUR"]),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["Checking"])]
Text = Annotated[str, msgspec.Meta(max_length=500)]
Notes = Annotated[str, msgspec.Meta(max_length=5000)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Category = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^:/]+$", examples=["groceries"])
]
AccountKindName = Literal["asset", "liability", "income", "expense", "equity"]
EntryKindName = Literal["expense", "income", "transfer"]


AccessLevelName = Literal["none", "view", "annotate", "full"]


class Command(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of all command bodies: unknown fields are refused (no mass assignment)."""


class Change(Command, kw_only=True):
    """Base of partial updates: the fields sent, absent ones left as they are."""

    def changes(self) -> dict[str, object]:
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not msgspec.UNSET
        }


class OpenAccount(Command, kw_only=True):
    """Open an account for the household."""

    name: Name
    kind: AccountKindName = "asset"
    currency: Currency
    minimum_balance: NonPositiveAmount | None = None
    sharing: AccessLevelName = "full"  # what other members may do with it


class ShareAccount(Command, kw_only=True):
    """What the other members may do with an account: a default and per-member exceptions
    (none: private; view; annotate: describe and categorise; full)."""

    default: AccessLevelName
    members: dict[UUID, AccessLevelName] = msgspec.field(default_factory=dict)


class RenameAccount(Command, kw_only=True):
    """Give an account a new name."""

    name: Name


class RecordTransaction(Command, kw_only=True):
    """Record an expense, an income, or a transfer between two of the household's accounts."""

    kind: EntryKindName
    account_id: UUID
    amount: PositiveAmount
    currency: Currency | None = None
    date: dt.date
    description: Text = ""
    merchant: Text | None = None
    category: Category | None = None
    tags: list[Tag] = msgspec.field(default_factory=list)
    notes: Notes | None = None
    status: Literal["pending", "posted"] = "posted"
    to_account_id: UUID | None = None
    # Paid in another currency than the account's: ``amount`` and ``currency`` are what was
    # paid, and either ``rate`` (account currency per unit) or ``account_amount`` (what the
    # account was charged) gives the account's amount.
    rate: Rate | None = None
    account_amount: PositiveAmount | None = None
    hold_days: Annotated[int, msgspec.Meta(ge=1, le=90)] | None = None  # pending only


class RecordTransactions(Command, kw_only=True):
    """Record many transactions at once: all of them, or none."""

    transactions: Annotated[list[RecordTransaction], msgspec.Meta(min_length=1, max_length=1000)]


class EditTransaction(Change, kw_only=True):
    """Change descriptive fields of a transaction; absent fields stay as they are."""

    description: Text | msgspec.UnsetType = msgspec.UNSET
    merchant: Text | msgspec.UnsetType | None = msgspec.UNSET
    date: dt.date | msgspec.UnsetType = msgspec.UNSET
    tags: list[Tag] | msgspec.UnsetType = msgspec.UNSET
    notes: Notes | msgspec.UnsetType | None = msgspec.UNSET


class Recategorise(Command, kw_only=True):
    """Put a transaction in another category."""

    category: Category


class PostTransaction(Command, kw_only=True):
    """Post a pending transaction, with its final amount or date if they changed (a tip
    added, a later booking day)."""

    amount: PositiveAmount | None = None
    date: dt.date | None = None


class Reason(Command, kw_only=True):
    """Why a transaction is cancelled or disputed."""

    reason: Text = ""


# --- identity ---------------------------------------------------------------------

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, examples=["ana@example.org"])]
Password = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=1024,
        description="8 to 128 characters, any characters; common passwords are refused.",
        examples=["correct horse battery staple"],
    ),
]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, examples=["Ana"])]
OpaqueToken = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
GlobalRoleName = Literal["user", "premium", "admin", "auditor"]
HouseholdRoleName = Literal["family_owner", "family_member", "read_only"]


class Register(Command, kw_only=True):
    """Create a login and a first household that you own."""

    email: Email
    password: Password
    display_name: DisplayName
    household_name: Name | None = None


class Login(Command, kw_only=True):
    email: Email
    password: Password


class RefreshToken(Command, kw_only=True):
    refresh_token: OpaqueToken


class Logout(Command, kw_only=True):
    """End this login: its refresh token family is revoked, the access token denied."""

    refresh_token: OpaqueToken | None = None


class UpdateProfile(Command, kw_only=True):
    display_name: DisplayName


class ChangePassword(Command, kw_only=True):
    current_password: Password
    new_password: Password


class VerifyEmail(Command, kw_only=True):
    token: OpaqueToken


class ChangeRole(Command, kw_only=True):
    role: GlobalRoleName


class Suspend(Command, kw_only=True):
    reason: Text = ""


class CreateHousehold(Command, kw_only=True):
    name: Name


class Invite(Command, kw_only=True):
    email: Email
    role: HouseholdRoleName = "family_member"


class JoinHousehold(Command, kw_only=True):
    token: OpaqueToken


class ChangeMemberRole(Command, kw_only=True):
    role: HouseholdRoleName


class SwitchHousehold(Command, kw_only=True):
    household_id: UUID


# --- reconciliation -----------------------------------------------------------------

SignedAmount = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$",
        description="A decimal string, negative for an overdrawn or owed balance.",
        examples=["1957.90"],
    ),
]


class ReconcileAccount(Command, kw_only=True):
    """A bank statement: the closing balance the bank shows at the end of a date."""

    closing_date: dt.date
    closing_balance: SignedAmount


# --- categories and rules -------------------------------------------------------------


class AddCategory(Command, kw_only=True):
    """A category of the household's own, at the top or under a group."""

    name: Category
    parent: Category | None = None
    kind: Literal["expense", "income"] = "expense"


class RenameCategory(Command, kw_only=True):
    """A new name; the category's transactions follow (their events are not rewritten)."""

    name: Category


class MergeCategory(Command, kw_only=True):
    """Move everything of this category into another; this one is gone afterwards."""

    into: Category


class TriggerBody(Command, kw_only=True):
    """description/merchant: contains, equals, starts_with, ends_with (case-insensitive);
    amount: equals, gt, gte, lt, lte (the positive size of the entry); account_id and kind:
    equals."""

    field: Literal["description", "merchant", "amount", "account_id", "kind"]
    op: Literal["contains", "equals", "starts_with", "ends_with", "gt", "gte", "lt", "lte"]
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ActionsBody(Command, kw_only=True):
    set_category: Category | None = None
    add_tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    set_notes: Notes | None = None


class RuleBody(Command, kw_only=True):
    """A rule: when its triggers match (all of them, or any), its actions apply."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    triggers: Annotated[list[TriggerBody], msgspec.Meta(min_length=1, max_length=10)]
    actions: ActionsBody
    match: Literal["all", "any"] = "all"
    priority: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 100
    active: bool = True


class RunRule(Command, kw_only=True):
    """Apply a rule to past transactions (dated on or after ``since``, if given).
    ``preview`` answers the diff and stores nothing."""

    preview: bool = False
    since: dt.date | None = None


class Describe(Command, kw_only=True):
    description: Text
    merchant: Text | None = None
    kind: EntryKindName = "expense"
    amount: PositiveAmount | None = None


class Categorize(Command, kw_only=True):
    """Descriptions to suggest categories for (up to 100)."""

    items: Annotated[list[Describe], msgspec.Meta(min_length=1, max_length=100)]


# --- budgets ----------------------------------------------------------------------------

Threshold = Annotated[int, msgspec.Meta(ge=1, le=1000)]


class CreateBudget(Command, kw_only=True):
    """A spending limit per period for categories or category groups (a group covers its
    subcategories). ``thresholds`` are percentages of the available amount that alert."""

    name: Name
    categories: Annotated[list[Category], msgspec.Meta(min_length=1, max_length=50)]
    period: Literal["weekly", "monthly", "yearly"] = "monthly"
    limit: PositiveAmount
    currency: Currency
    rollover: bool = False
    thresholds: Annotated[list[Threshold], msgspec.Meta(min_length=1, max_length=10)] = msgspec.field(
        default_factory=lambda: [50, 80, 100]
    )
    private: bool = False  # seen and changed by you only


class ChangeBudget(Change, kw_only=True):
    """Change a budget; absent fields stay as they are (the period and currency stay)."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    categories: Annotated[list[Category], msgspec.Meta(min_length=1, max_length=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    limit: PositiveAmount | msgspec.UnsetType = msgspec.UNSET
    rollover: bool | msgspec.UnsetType = msgspec.UNSET
    thresholds: Annotated[list[Threshold], msgspec.Meta(min_length=1, max_length=10)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    private: bool | msgspec.UnsetType = msgspec.UNSET


# --- goals ------------------------------------------------------------------------------


class CreateGoal(Command, kw_only=True):
    """Save towards a target amount, optionally by a date, in some of the household's
    accounts (their balances are the progress)."""

    name: Name
    target: PositiveAmount
    currency: Currency
    account_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=20)]
    target_date: dt.date | None = None


class ChangeGoal(Change, kw_only=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    target: PositiveAmount | msgspec.UnsetType = msgspec.UNSET
    account_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=20)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    target_date: dt.date | msgspec.UnsetType | None = msgspec.UNSET
