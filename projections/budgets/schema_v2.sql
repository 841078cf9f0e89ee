-- Budgets read model, version 2: the alerts emitted for each budget.
CREATE TABLE IF NOT EXISTS {schema}.alerts (
    alert_id uuid PRIMARY KEY,
    budget_id uuid NOT NULL,
    household_id uuid NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    threshold int NOT NULL,
    spent numeric NOT NULL,
    available numeric NOT NULL,
    currency text NOT NULL,
    crossed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_budget ON {schema}.alerts (budget_id, period_start DESC, threshold)
