-- Budget alerts follower, version 1: its own copy of what it needs (expenses by category
-- and date, budgets, the category tree), the thresholds crossed, and an outbox of alerts
-- that the relay appends to the event store as BudgetThresholdCrossed events.
CREATE TABLE IF NOT EXISTS {schema}.budgets (
    budget_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    categories text[] NOT NULL,
    period text NOT NULL,
    amount numeric NOT NULL,
    currency text NOT NULL,
    rollover boolean NOT NULL,
    thresholds int[] NOT NULL,
    deleted boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS budgets_by_household ON {schema}.budgets (household_id);
CREATE TABLE IF NOT EXISTS {schema}.books (
    book_id uuid PRIMARY KEY,
    household_id uuid NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.tree (
    household_id uuid NOT NULL,
    name text NOT NULL,
    parent text,
    PRIMARY KEY (household_id, name)
);
CREATE TABLE IF NOT EXISTS {schema}.expenses (
    transaction_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    category text NOT NULL,
    date date NOT NULL,
    amount numeric NOT NULL,
    currency text NOT NULL,
    counted boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS expenses_by_category ON {schema}.expenses (household_id, category, date);
CREATE TABLE IF NOT EXISTS {schema}.crossed (
    budget_id uuid NOT NULL,
    period_start date NOT NULL,
    threshold int NOT NULL,
    spent numeric NOT NULL,
    available numeric NOT NULL,
    PRIMARY KEY (budget_id, period_start, threshold)
);
CREATE TABLE IF NOT EXISTS {schema}.outbox (
    alert_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    budget_id uuid NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    threshold int NOT NULL,
    spent numeric NOT NULL,
    available numeric NOT NULL,
    currency text NOT NULL
)
