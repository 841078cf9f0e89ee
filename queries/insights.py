"""Unusual expenses: amounts far above the history of their category or merchant.

An expense of the window is compared with the earlier expenses (the lookback before the
window) of its category and, separately, of its payee, in the same currency, by the modified
z-score of Iglewicz and Hoaglin: 0.6745 * (amount - median) / MAD, unusual above 3.5. The
median and the median absolute deviation (MAD) are robust: the outliers we look for do not
move them, where they would inflate a mean and a standard deviation. When more than half of
the history is one amount the MAD is 0; the scale is then 1.253314 * the mean absolute
deviation around the median. When the history is a single amount repeated, there is no
spread to measure: an expense is unusual from twice that amount on.

Only unusually HIGH amounts are flagged: an expense far below its usual amount costs the
household nothing, and amounts are bounded by zero and skewed to the right, so a low score
says little; what a household wants to catch is a double charge, a price hike, a mistyped
amount or a fraudulent charge, all of which are too high.

Every figure is the household's as the viewer sees it (the transaction list's privacy rule:
transactions touching an account hidden from the viewer are left out), expenses only, without
cancelled ones (voided, expired and reverted imports are recorded as cancelled).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

import msgspec

from ledger.errors import InvalidInputError
from ledger.money import MINOR_UNITS
from ledger.transaction import Status
from queries.db import ReadStore
from queries.transactions import HIDDEN_ACCOUNT, S

THRESHOLD = Decimal("3.5")  # Iglewicz and Hoaglin's recommended cut-off
NORMAL_MAD = Decimal("0.6745")  # MAD / 0.6745 estimates the standard deviation of a normal
NORMAL_MEAN_AD = Decimal("1.253314")  # sqrt(pi / 2): the same for the mean absolute deviation
CONSTANT_FACTOR = Decimal(2)  # a constant history: unusual from twice its amount
MIN_HISTORY = 5  # fewer earlier expenses are no history to judge by
MAX_LIMIT = 500
COUNTED = [s.value for s in Status if s is not Status.CANCELLED]


@dataclass(frozen=True, slots=True)
class Expense:
    id: UUID
    date: dt.date
    description: str
    merchant: str | None
    category: str | None
    amount: Decimal  # positive: what was spent
    currency: str


@dataclass(frozen=True, slots=True)
class Verdict:
    median: Decimal
    mad: Decimal
    score: float
    unusual: bool
    method: str  # the scale: "mad", "mean_absolute_deviation", or "constant" (no spread)


class UnusualReason(msgspec.Struct, kw_only=True):
    """Why an expense stands out in one of its groups."""

    by: str  # "category" or "merchant"
    group: str  # the category, or the merchant (or description)
    median: str
    mad: str  # median absolute deviation of the group's history
    history: int  # how many earlier expenses of the group it was compared with
    score: float  # modified z-score (see the module's docstring)
    method: str  # its scale: "mad", "mean_absolute_deviation", or "constant" (no spread at all)
    sentence: str


class UnusualExpense(msgspec.Struct, kw_only=True):
    """An expense of the window unusually high for its category, its merchant, or both."""

    id: UUID
    date: dt.date
    description: str
    merchant: str | None
    category: str | None
    amount: str
    currency: str
    score: float  # the highest score of its reasons
    reasons: list[UnusualReason]


class UnusualReport(msgspec.Struct, kw_only=True):
    """Expenses of the window scored against the history of their category and merchant by the
    modified z-score 0.6745 * (amount - median) / MAD, flagged above 3.5 (Iglewicz and Hoaglin);
    highest score first. Only unusually high amounts are flagged."""

    date_from: dt.date  # the window judged
    date_to: dt.date
    history_from: dt.date  # the history: from this day to the day before date_from
    items: list[UnusualExpense]


def money(value: Decimal, currency: str) -> str:
    """An amount for display, rounded half up to the currency's minor units."""
    return str(value.quantize(Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2)), ROUND_HALF_UP))


def days_before(day: dt.date, days: int) -> dt.date:
    """``days`` days before ``day``, but not before the calendar's first day."""
    return day - dt.timedelta(days=min(days, (day - dt.date.min).days))


def payee(merchant: str | None, description: str) -> str:
    """Who was paid, as a grouping key: the merchant, else the description without numbers and
    punctuation (``"NETFLIX.COM 4411"`` -> ``"netflix com"``); case and spacing ignored."""
    if merchant and merchant.strip():
        return " ".join(merchant.casefold().split())
    return " ".join(re.sub(r"[\W\d_]+", " ", description.casefold()).split())


def median(values: Sequence[Decimal]) -> Decimal:
    if not values:
        raise ValueError("the median of nothing")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def mad(values: Sequence[Decimal]) -> Decimal:
    """The median absolute deviation from the median."""
    center = median(values)
    return median([abs(v - center) for v in values])


def mean_absolute_deviation(values: Sequence[Decimal]) -> Decimal:
    """The mean absolute deviation around the median (the fallback scale when the MAD is 0)."""
    center = median(values)
    return sum((abs(v - center) for v in values), Decimal(0)) / len(values)


def judge(amount: Decimal, history: Sequence[Decimal]) -> Verdict:
    """Is ``amount`` unusually high for this history? The modified z-score, or its fallbacks."""
    center, spread = median(history), mad(history)
    if spread > 0:
        score = NORMAL_MAD * (amount - center) / spread
        return Verdict(center, spread, round(float(score), 2), score > THRESHOLD, "mad")
    if (mean_ad := mean_absolute_deviation(history)) > 0:
        score = (amount - center) / (NORMAL_MEAN_AD * mean_ad)
        return Verdict(center, spread, round(float(score), 2), score > THRESHOLD, "mean_absolute_deviation")
    if center <= 0:
        return Verdict(center, spread, 0.0, False, "constant")
    ratio = amount / center  # one amount repeated: scored so that twice the amount meets THRESHOLD
    score = THRESHOLD * ratio / CONSTANT_FACTOR
    return Verdict(center, spread, round(float(score), 2), ratio >= CONSTANT_FACTOR, "constant")


GroupKey = tuple[str, str]  # (group, currency)


def category_key(e: Expense) -> GroupKey | None:
    """Uncategorised expenses are no group: they have nothing in common."""
    return (e.category.casefold(), e.currency) if e.category else None


def payee_key(e: Expense) -> GroupKey | None:
    key = payee(e.merchant, e.description)
    return (key, e.currency) if key else None


KEYS: dict[str, Callable[[Expense], GroupKey | None]] = {"category": category_key, "merchant": payee_key}


def histories(expenses: Sequence[Expense]) -> dict[str, dict[GroupKey, list[Decimal]]]:
    """The amounts of each category and each payee, per currency."""
    found: dict[str, dict[GroupKey, list[Decimal]]] = {by: defaultdict(list) for by in KEYS}
    for e in expenses:
        for by, key in KEYS.items():
            if (group := key(e)) is not None:
                found[by][group].append(e.amount)
    return found


def sentence(e: Expense, by: str, group: str, verdict: Verdict, history: int) -> str:
    amount, usual = money(e.amount, e.currency), money(verdict.median, e.currency)
    if verdict.method == "constant":
        ratio = e.amount / verdict.median
        return (
            f"{amount} {e.currency} is {ratio:.1f} times the {usual} {e.currency} that each of the"
            f" {history} earlier expenses of {by} {group!r} cost."
        )
    return (
        f"{amount} {e.currency} is far above the usual {usual} {e.currency} for {by} {group!r}"
        f" (modified z-score {verdict.score:.1f} against {history} earlier expenses)."
    )


def reason(e: Expense, by: str, verdict: Verdict, history: int) -> UnusualReason:
    group = (e.category or "") if by == "category" else (e.merchant or e.description)
    return UnusualReason(
        by=by, group=group, median=money(verdict.median, e.currency),
        mad=money(verdict.mad, e.currency), history=history, score=verdict.score,
        method=verdict.method, sentence=sentence(e, by, group, verdict, history),
    )  # fmt: skip


def unusual(e: Expense, groups: dict[str, dict[GroupKey, list[Decimal]]]) -> UnusualExpense | None:
    """The expense with its reasons to stand out, or None when it does not."""
    reasons = []
    for by, key in KEYS.items():
        history = groups[by].get(group, []) if (group := key(e)) else []
        if len(history) >= MIN_HISTORY and (verdict := judge(e.amount, history)).unusual:
            reasons.append(reason(e, by, verdict, len(history)))
    if not reasons:
        return None
    return UnusualExpense(
        id=e.id, date=e.date, description=e.description, merchant=e.merchant, category=e.category,
        amount=money(e.amount, e.currency), currency=e.currency,
        score=max(r.score for r in reasons), reasons=reasons,
    )  # fmt: skip


def flag_unusual(expenses: Sequence[Expense], window_start: dt.date) -> list[UnusualExpense]:
    """The expenses from ``window_start`` on that stand out against the earlier ones,
    highest score first."""
    groups = histories([e for e in expenses if e.date < window_start])
    found = [u for e in expenses if e.date >= window_start and (u := unusual(e, groups))]
    return sorted(found, key=lambda u: (-u.score, u.date, str(u.id)))


def expenses(
    store: ReadStore, household_id: UUID, viewer: UUID, date_from: dt.date, date_to: dt.date
) -> list[Expense]:
    """The counted expenses the viewer may see (the transaction list's privacy rule, shared with
    it), between two days (both included), oldest first."""
    with store.cursor() as curs:
        curs.execute(
            "SELECT transaction_id, date, description, merchant, category, amount, currency"  # noqa: S608
            f" FROM {S}.transactions t WHERE t.household_id = %s AND {HIDDEN_ACCOUNT}"
            " AND t.kind = 'expense' AND t.status = ANY(%s) AND t.date BETWEEN %s AND %s"
            " ORDER BY t.date, t.recorded_at, t.transaction_id",
            (household_id, viewer, str(viewer), COUNTED, date_from, date_to),
        )
        return [expense(row) for row in curs.fetchall()]


def expense(row: dict[str, Any]) -> Expense:
    return Expense(
        id=row["transaction_id"], date=row["date"], description=row["description"],
        merchant=row["merchant"], category=row["category"], amount=Decimal(row["amount"]),
        currency=row["currency"],
    )  # fmt: skip


def unusual_expenses(
    store: ReadStore,
    household_id: UUID,
    viewer: UUID,
    today: dt.date,
    days: int = 30,
    lookback: int = 365,
    limit: int = 50,
) -> UnusualReport:
    """The unusual expenses of the last ``days`` days up to ``today``, judged against the
    ``lookback`` days before them."""
    if not 1 <= limit <= MAX_LIMIT or days < 1 or lookback < 1:
        raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}; days and lookback positive")
    start = days_before(today, days - 1)
    since = days_before(start, lookback)
    found = flag_unusual(expenses(store, household_id, viewer, since, today), start)
    return UnusualReport(date_from=start, date_to=today, history_from=since, items=found[:limit])
