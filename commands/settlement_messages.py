"""Command messages of household settlement: share an expense, set incomes, settle up."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from commands.messages import Command, Currency, PositiveAmount, Text

Weight = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^(?=[0-9.]*[1-9])[0-9]{1,9}(\.[0-9]{1,6})?$",
        description='A positive decimal string such as "2" or "0.6"; JSON numbers are refused.',
        examples=["2"],
    ),
]
Members = Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=50)]


class ShareExpense(Command, kw_only=True):
    """Share an expense between members of the household.

    ``equal``: everyone the same; ``ratio``: in proportion to ``weights`` (member id ->
    weight; the members default to the weights' keys); ``income``: in proportion to the
    incomes last set. ``members`` defaults to every current member of the household and
    ``paid_by`` to the owner of the expense's account (else you)."""

    transaction_id: UUID
    method: Literal["equal", "ratio", "income"] = "equal"
    members: Members | None = None
    weights: Annotated[dict[UUID, Weight], msgspec.Meta(min_length=1, max_length=50)] | None = None
    paid_by: UUID | None = None


class SetIncomes(Command, kw_only=True):
    """Replace the members' incomes that the ``income`` method splits by (one currency)."""

    currency: Currency
    incomes: Annotated[dict[UUID, PositiveAmount], msgspec.Meta(max_length=50)]


class SettleUp(Command, kw_only=True):
    """``from_member`` paid ``to_member`` back. With both account ids, the payment is also
    recorded as a transfer between those accounts of the household (in ``currency``)."""

    from_member: UUID
    to_member: UUID
    amount: PositiveAmount
    currency: Currency
    from_account_id: UUID | None = None
    to_account_id: UUID | None = None
    date: dt.date | None = None  # of the transfer; default today
    description: Text = "Settle-up"
