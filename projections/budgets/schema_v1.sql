-- Budgets read model, version 1. Spending is computed from read_transactions at query time.
CREATE TABLE IF NOT EXISTS {schema}.budgets (
    household_id uuid NOT NULL,
    budget_id uuid PRIMARY KEY,
    owner_id uuid,
    name text NOT NULL,
    categories text[] NOT NULL,
    period text NOT NULL,
    amount numeric NOT NULL,
    currency text NOT NULL,
    rollover boolean NOT NULL,
    thresholds int[] NOT NULL,
    private boolean NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    version int NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS budgets_by_household ON {schema}.budgets (household_id, name)
