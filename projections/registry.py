"""The projections that FiscaFlow runs, by name (one explicit table, no import magic)."""

from __future__ import annotations

from projections.accounts.projection import AccountsProjection
from projections.balance_monitors.projection import BalanceMonitorsProjection
from projections.base import Projection
from projections.budget_alerts.projection import BudgetAlertsProjection
from projections.budgets.projection import BudgetsProjection
from projections.categories.projection import CategoriesProjection
from projections.directory.projection import DirectoryProjection
from projections.goals.projection import GoalsProjection
from projections.notifications.projection import NotificationsProjection
from projections.schedules.projection import SchedulesProjection
from projections.settlement.projection import SettlementProjection
from projections.transactions.projection import TransactionsProjection

PROJECTIONS: dict[str, type[Projection]] = {
    AccountsProjection.name: AccountsProjection,
    TransactionsProjection.name: TransactionsProjection,
    DirectoryProjection.name: DirectoryProjection,
    CategoriesProjection.name: CategoriesProjection,
    BudgetsProjection.name: BudgetsProjection,
    BudgetAlertsProjection.name: BudgetAlertsProjection,
    GoalsProjection.name: GoalsProjection,
    SchedulesProjection.name: SchedulesProjection,
    BalanceMonitorsProjection.name: BalanceMonitorsProjection,
    NotificationsProjection.name: NotificationsProjection,
    SettlementProjection.name: SettlementProjection,
}
