"""The budget alerts follower: spending per budget period, and thresholds crossed.

It is a tracked projection of its own (exactly once, like every read model) that keeps the
expenses it needs (category, date, amount, counted or not), the budgets and the category
tree. After every event that can change a budget's spending (a new expense, a backdated
or re-dated one, a recategorised one, a cancelled, voided, expired or reverted one, a
settled hold, an expense that became a transfer, a renamed category, a changed budget) it
recomputes the spending of the periods concerned (and of the next one, with rollover) and
records each threshold reached for the first time in that period: in ``crossed`` and in the
``outbox``, in the same transaction as its tracking position. The relay appends each
outbox row as a ``BudgetThresholdCrossed`` event whose id derives from (budget, period,
threshold), so the event store itself holds at most one per threshold and period.

Expenses in another currency than the budget's count converted at the household's recorded
rates (ledger.rates: the latest rate for the pair, as budget vs actual and analytics do),
from the follower's own copy of every entry's date and currencies (``entries``); a newly
recorded rate re-checks the household's budgets for that entry's date. Amounts in a
currency with no recorded rate do not count until one is recorded.

Crossing back below a threshold (a cancel, a recategorised expense) emits nothing, and
crossing it again in the same period emits nothing either: an alert says "this period
reached 80 %" once. A budget changed mid-period (a lower limit, new thresholds) is checked
again as of the change, and may alert for thresholds not reached before.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from psycopg import Cursor

from ledger.budget import Budget, Period, alert_id, available, period_bounds
from ledger.categories import DEFAULT_TREE, CategoryBook
from ledger.money import MINOR_UNITS
from ledger.posting import UNCATEGORISED, EntryKind
from ledger.rates import LATEST_RATES, Rates, convert_sums, latest_rates
from ledger.transaction import Transaction
from projections.base import Projection

# Transaction events that change nothing a budget counts.
STATUS_UNCOUNTED = (
    Transaction.Cancelled,
    Transaction.Voided,
    Transaction.Expired,
    Transaction.ImportReverted,
)


class BudgetAlertsProjection(Projection):
    name = "budget_alerts"
    schema_version = 2
    sql_package = "projections.budget_alerts"
    handles = (
        Budget.Created,
        Budget.Changed,
        Budget.Deleted,
        CategoryBook.Opened,
        CategoryBook.Added,
        CategoryBook.Renamed,
        CategoryBook.Merged,
        Transaction.Recorded,
        Transaction.Edited,
        Transaction.Recategorised,
        Transaction.Categorised,
        Transaction.RuleApplied,
        Transaction.RuleUndone,
        Transaction.Settled,
        Transaction.SettlementReverted,
        Transaction.TransferMatched,
        Transaction.TransferUnmatched,
        Transaction.ForeignAmount,
        *STATUS_UNCOUNTED,
    )

    @singledispatchmethod
    def apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    # --- budgets --------------------------------------------------------------------------

    @apply.register
    def _(self, e: Budget.Created, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.budgets VALUES (%s, %s, %s, %s, %s, %s, %s, %s, false)",  # noqa: S608
            (
                e.originator_id, e.household_id, [c.casefold() for c in e.categories], str(e.period),
                e.limit.amount, e.limit.currency, e.rollover, list(e.thresholds),
            ),
        )  # fmt: skip
        self._check_budget(curs, e.originator_id, e.timestamp.date())

    @apply.register
    def _(self, e: Budget.Changed, curs: Cursor[Any]) -> None:
        changes = dict(e.changes)
        values = {
            "categories": [c.casefold() for c in changes["categories"]] if "categories" in changes else None,
            "amount": changes["limit"].amount if "limit" in changes else None,
            "rollover": changes.get("rollover"),
            "thresholds": list(changes["thresholds"]) if "thresholds" in changes else None,
        }
        for column, value in values.items():
            if value is not None:
                curs.execute(
                    f"UPDATE {self.schema}.budgets SET {column} = %s WHERE budget_id = %s",  # noqa: S608
                    (value, e.originator_id),
                )
        self._check_budget(curs, e.originator_id, e.timestamp.date())

    @apply.register
    def _(self, e: Budget.Deleted, curs: Cursor[Any]) -> None:
        query = f"UPDATE {self.schema}.budgets SET deleted = true WHERE budget_id = %s"  # noqa: S608
        curs.execute(query, (e.originator_id,))

    # --- the category tree ---------------------------------------------------------------

    @apply.register
    def _(self, e: CategoryBook.Opened, curs: Cursor[Any]) -> None:
        curs.execute(f"INSERT INTO {self.schema}.books VALUES (%s, %s)", (e.originator_id, e.household_id))  # noqa: S608
        for name, parent, _ in e.defaults:
            self._tree_insert(curs, e.household_id, name, parent)

    @apply.register
    def _(self, e: CategoryBook.Added, curs: Cursor[Any]) -> None:
        curs.execute(f"SELECT household_id FROM {self.schema}.books WHERE book_id = %s", (e.originator_id,))  # noqa: S608
        row = curs.fetchone()
        if row is None:
            raise LookupError(f"category book {e.originator_id} is not known")
        self._tree_insert(curs, row[0], e.name, e.parent)

    @apply.register(CategoryBook.Renamed)
    @apply.register(CategoryBook.Merged)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        old, new = (e.old, e.new) if isinstance(e, CategoryBook.Renamed) else (e.source, e.into)
        household = e.household_id
        o, n = old.casefold(), new.casefold()
        s = self.schema
        curs.execute(f"DELETE FROM {s}.tree WHERE household_id = %s AND name = %s", (household, o))  # noqa: S608
        if isinstance(e, CategoryBook.Renamed):
            curs.execute(
                f"INSERT INTO {s}.tree SELECT %s, %s, NULL WHERE NOT EXISTS"  # noqa: S608
                f" (SELECT 1 FROM {s}.tree WHERE household_id = %s AND name = %s)",
                (household, n, household, n),
            )
        query = f"UPDATE {s}.tree SET parent = %s WHERE household_id = %s AND parent = %s"  # noqa: S608
        curs.execute(query, (n, household, o))
        curs.execute(
            f"UPDATE {s}.expenses SET category = %s WHERE household_id = %s AND category = %s",  # noqa: S608
            (n, household, o),
        )
        curs.execute(
            f"UPDATE {s}.budgets SET categories = ARRAY(SELECT DISTINCT CASE WHEN c = %s THEN %s ELSE c END"  # noqa: S608
            " FROM unnest(categories) c) WHERE household_id = %s AND %s = ANY(categories)",
            (o, n, household, o),
        )
        self._check(curs, household, {n}, {e.timestamp.date()})

    def _tree_insert(self, curs: Cursor[Any], household: Any, name: str, parent: str | None) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.tree VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",  # noqa: S608
            (household, name.casefold(), parent.casefold() if parent else None),
        )

    # --- expenses ------------------------------------------------------------------------

    @apply.register
    def _(self, e: Transaction.Recorded, curs: Cursor[Any]) -> None:
        own = next(p for p in e.postings if p.household_account_id() is not None)
        curs.execute(
            f"INSERT INTO {self.schema}.entries (transaction_id, household_id, date, currency)"  # noqa: S608
            " VALUES (%s, %s, %s, %s)",
            (e.originator_id, e.household_id, e.date, own.amount.currency),
        )
        if EntryKind(e.kind) is not EntryKind.EXPENSE:
            return
        category = (e.category or UNCATEGORISED).casefold()
        curs.execute(
            f"INSERT INTO {self.schema}.expenses VALUES (%s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
            (
                e.originator_id, e.household_id, category, e.date, abs(own.amount.amount),
                own.amount.currency, str(e.status) != "cancelled",
            ),
        )  # fmt: skip
        self._check(curs, e.household_id, {category}, {e.date})

    @apply.register
    def _(self, e: Transaction.Edited, curs: Cursor[Any]) -> None:
        if "date" in e.changes:
            self._entry(curs, e, "date = %s", e.changes["date"])
            self._change(curs, e, "date = %s", e.changes["date"])

    @apply.register
    def _(self, e: Transaction.ForeignAmount, curs: Cursor[Any]) -> None:
        row = self._entry(curs, e, "original_currency = %s, rate = %s", e.original.currency, e.rate)
        self._check(curs, row[0], None, {row[1]})  # a new rate: every budget of that date

    @apply.register(Transaction.Recategorised)
    @apply.register(Transaction.Categorised)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        self._change(curs, e, "category = %s", e.category.casefold())

    @apply.register
    def _(self, e: Transaction.RuleApplied, curs: Cursor[Any]) -> None:
        if "category" in e.changes:
            self._change(curs, e, "category = %s", (e.changes["category"][1] or UNCATEGORISED).casefold())

    @apply.register
    def _(self, e: Transaction.RuleUndone, curs: Cursor[Any]) -> None:
        if "category" in e.restored:
            self._change(curs, e, "category = %s", (e.restored["category"] or UNCATEGORISED).casefold())

    @apply.register(Transaction.Settled)
    @apply.register(Transaction.SettlementReverted)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        own = next(p for p in e.postings if p.household_account_id() is not None)
        self._entry(curs, e, "date = %s", e.on)
        self._change(curs, e, "amount = %s, date = %s", abs(own.amount.amount), e.on)

    @apply.register
    def _(self, e: Transaction.TransferMatched, curs: Cursor[Any]) -> None:
        self._change(curs, e, "counted = %s", False)  # a transfer is not spending

    @apply.register
    def _(self, e: Transaction.TransferUnmatched, curs: Cursor[Any]) -> None:
        self._change(curs, e, "counted = %s", True)

    @apply.register(Transaction.Cancelled)
    @apply.register(Transaction.Voided)
    @apply.register(Transaction.Expired)
    @apply.register(Transaction.ImportReverted)
    def _(self, e: Any, curs: Cursor[Any]) -> None:
        self._change(curs, e, "counted = %s", False)

    def _entry(self, curs: Cursor[Any], e: Any, assignment: str, *values: Any) -> tuple[Any, dt.date]:
        """Change an entry's copy (every kind); its household and date after the change."""
        curs.execute(
            f"UPDATE {self.schema}.entries SET {assignment} WHERE transaction_id = %s"  # noqa: S608
            " RETURNING household_id, date",
            (*values, e.originator_id),
        )
        row = curs.fetchone()
        if row is None:
            raise LookupError(f"transaction {e.originator_id} is not known to {self.name}")
        return row[0], row[1]

    def _change(self, curs: Cursor[Any], e: Any, assignment: str, *values: Any) -> None:
        """Change an expense (incomes and transfers are not followed) and check the budgets
        of its category and date, before and after."""
        s = self.schema
        curs.execute(
            f"SELECT household_id, category, date FROM {s}.expenses WHERE transaction_id = %s",  # noqa: S608
            (e.originator_id,),
        )
        before = curs.fetchone()
        if before is None:
            return
        curs.execute(
            f"UPDATE {s}.expenses SET {assignment} WHERE transaction_id = %s"  # noqa: S608
            " RETURNING category, date",
            (*values, e.originator_id),
        )
        after = curs.fetchone()
        assert after is not None
        self._check(curs, before[0], {before[1], after[0]}, {before[2], after[1]})

    # --- thresholds ----------------------------------------------------------------------

    def _covered(self, curs: Cursor[Any], household: Any, categories: list[str]) -> list[str]:
        curs.execute(f"SELECT name, parent FROM {self.schema}.tree WHERE household_id = %s", (household,))  # noqa: S608
        tree = curs.fetchall() or [(n, p) for n, p, _ in DEFAULT_TREE]
        wanted = set(categories)
        return sorted(wanted | {n.casefold() for n, p in tree if p is not None and p.casefold() in wanted})

    def _check(
        self, curs: Cursor[Any], household: Any, categories: set[str] | None, dates: set[dt.date]
    ) -> None:
        """Check the household's budgets covering any of ``categories`` (None: all) for the
        periods containing ``dates``."""
        curs.execute(
            f"SELECT budget_id FROM {self.schema}.budgets WHERE household_id = %s AND NOT deleted",  # noqa: S608
            (household,),
        )
        for (budget_id,) in curs.fetchall():
            self._check_budget(curs, budget_id, *dates, only=categories)

    def _check_budget(
        self, curs: Cursor[Any], budget_id: UUID, *days: dt.date, only: set[str] | None = None
    ) -> None:
        s = self.schema
        curs.execute(
            f"SELECT household_id, categories, period, amount, currency, rollover, thresholds, deleted"  # noqa: S608
            f" FROM {s}.budgets WHERE budget_id = %s",
            (budget_id,),
        )
        row = curs.fetchone()
        if row is None or row[7]:
            return
        household, categories, period, limit, currency, rollover, thresholds, _ = row
        names = self._covered(curs, household, list(categories))
        if only is not None and not set(names) & only:
            return
        period = Period(period)
        starts = {period_bounds(period, day) for day in days}
        if rollover:  # this period's spending changes what the next one has
            starts |= {period_bounds(period, end + dt.timedelta(days=1)) for _, end in list(starts)}
        rates = functools.cache(lambda: self._rates(curs, household, currency))
        for start, end in sorted(starts):
            used = self._spent(curs, household, names, currency, start, end, rates)
            before = None
            if rollover:
                previous = period_bounds(period, start - dt.timedelta(days=1))
                before = self._spent(curs, household, names, currency, *previous, rates)
            allowed = available(Decimal(limit), rollover, before)
            for threshold in thresholds:
                if used * 100 >= allowed * threshold:
                    self._crossed(
                        curs, household, budget_id, (start, end), threshold, used, allowed, currency
                    )

    def _rates(self, curs: Cursor[Any], household: Any, currency: str) -> dict[str, tuple[Decimal, dt.date]]:
        curs.execute(
            LATEST_RATES.format(table=f"{self.schema}.entries", order="seq"), (household, currency, currency)
        )
        return latest_rates(curs.fetchall(), currency)

    def _spent(
        self,
        curs: Cursor[Any],
        household: Any,
        names: list[str],
        currency: str,
        start: dt.date,
        end: dt.date,
        rates: Callable[[], Rates],
    ) -> Decimal:
        curs.execute(
            f"SELECT currency, sum(amount) FROM {self.schema}.expenses"  # noqa: S608
            " WHERE household_id = %s AND category = ANY(%s) AND counted"
            " AND date BETWEEN %s AND %s GROUP BY currency",
            (household, names, start, end),
        )
        return convert_sums({c: Decimal(a) for c, a in curs.fetchall()}, currency, rates).total

    def _crossed(
        self,
        curs: Cursor[Any],
        household: Any,
        budget_id: UUID,
        period: tuple[dt.date, dt.date],
        threshold: int,
        used: Decimal,
        allowed: Decimal,
        currency: str,
    ) -> None:
        s = self.schema
        places = Decimal(1).scaleb(-MINOR_UNITS[currency])  # converted sums have more decimals
        used, allowed = used.quantize(places), allowed.quantize(places)
        curs.execute(
            f"INSERT INTO {s}.crossed VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",  # noqa: S608
            (budget_id, period[0], threshold, used, allowed),
        )
        if curs.rowcount == 1:  # the first time in this period: one alert
            curs.execute(
                f"INSERT INTO {s}.outbox VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                (
                    alert_id(budget_id, period[0], threshold), household, budget_id, period[0], period[1],
                    threshold, used, allowed, currency,
                ),
            )  # fmt: skip
