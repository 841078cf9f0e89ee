"""What a notification says: a kind, a title, a body and the facts (for webhooks and apps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.budget import BudgetAlert
from ledger.monitor import BalanceAlert
from ledger.notifications import Kind
from ledger.schedule import Schedule


@dataclass(frozen=True)
class Message:
    kind: Kind
    title: str
    body: str
    data: dict[str, Any]


def budget_message(e: BudgetAlert.BudgetThresholdCrossed, name: str) -> Message:
    return Message(
        Kind.BUDGET_THRESHOLD,
        f"Budget {name} reached {e.threshold} %",
        f"Spent {e.spent} of {e.available} {e.currency} from {e.period_start} to {e.period_end}.",
        {
            "budget_id": str(e.budget_id), "threshold": e.threshold, "spent": str(e.spent),
            "available": str(e.available), "currency": e.currency,
            "period_start": e.period_start.isoformat(), "period_end": e.period_end.isoformat(),
        },
    )  # fmt: skip


def balance_message(e: BalanceAlert.Crossed) -> Message:
    went = "fell below" if e.direction == "below" else "rose above"
    return Message(
        Kind.BALANCE_THRESHOLD,
        f"{e.name}: the balance {went} {e.threshold} {e.currency}",
        f"The balance is now {e.balance} {e.currency}.",
        {
            "monitor_id": str(e.monitor_id), "account_id": str(e.account_id), "direction": e.direction,
            "threshold": str(e.threshold), "balance": str(e.balance), "currency": e.currency,
        },
    )  # fmt: skip


def bill_message(e: Schedule.BillMissed) -> Message:
    return Message(
        Kind.BILL_MISSED,
        f"Bill {e.name} was not paid",
        f"A payment of about {e.amount.amount} {e.amount.currency} was expected around {e.on}.",
        {
            "schedule_id": str(e.originator_id), "due": e.on.isoformat(),
            "amount": str(e.amount.amount), "currency": e.amount.currency,
        },
    )  # fmt: skip
