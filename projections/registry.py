"""The projections that FiscaFlow runs, by name (one explicit table, no import magic)."""

from __future__ import annotations

from projections.accounts.projection import AccountsProjection
from projections.base import Projection
from projections.budget_alerts.projection import BudgetAlertsProjection
from projections.budgets.projection import BudgetsProjection
from projections.categories.projection import CategoriesProjection
from projections.directory.projection import DirectoryProjection
from projections.goals.projection import GoalsProjection
from projections.transactions.projection import TransactionsProjection

PROJECTIONS: dict[str, type[Projection]] = {
    AccountsProjection.name: AccountsProjection,
    TransactionsProjection.name: TransactionsProjection,
    DirectoryProjection.name: DirectoryProjection,
    CategoriesProjection.name: CategoriesProjection,
    BudgetsProjection.name: BudgetsProjection,
    BudgetAlertsProjection.name: BudgetAlertsProjection,
    GoalsProjection.name: GoalsProjection,
}
