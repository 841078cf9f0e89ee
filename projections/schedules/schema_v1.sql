-- Schedules read model, version 1: recurring transactions and bills, and what became of
-- each occurrence (generated, paid or missed).
CREATE TABLE IF NOT EXISTS {schema}.schedules (
    household_id uuid NOT NULL,
    schedule_id uuid PRIMARY KEY,
    owner_id uuid,
    name text NOT NULL,
    mode text NOT NULL,
    account_id uuid NOT NULL,
    kind text NOT NULL,
    amount numeric NOT NULL,
    currency text NOT NULL,
    description text NOT NULL,
    merchant text,
    category text,
    frequency text NOT NULL,
    every int NOT NULL,
    day int NOT NULL,
    start date NOT NULL,
    "end" date,
    grace_days int NOT NULL,
    tolerance int NOT NULL,
    next_due date,
    deleted boolean NOT NULL DEFAULT false,
    version int NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS schedules_by_household ON {schema}.schedules (household_id, name);
CREATE INDEX IF NOT EXISTS schedules_due ON {schema}.schedules (next_due) WHERE NOT deleted;
CREATE TABLE IF NOT EXISTS {schema}.occurrences (
    household_id uuid NOT NULL,
    schedule_id uuid NOT NULL,
    due date NOT NULL,
    outcome text NOT NULL,
    transaction_id uuid,
    at timestamptz NOT NULL,
    PRIMARY KEY (schedule_id, due)
);
CREATE INDEX IF NOT EXISTS occurrences_by_household ON {schema}.occurrences (household_id, due DESC)
