-- Goals read model, version 1. Progress comes from read_accounts at query time.
CREATE TABLE IF NOT EXISTS {schema}.goals (
    household_id uuid NOT NULL,
    goal_id uuid PRIMARY KEY,
    owner_id uuid,
    name text NOT NULL,
    amount numeric NOT NULL,
    currency text NOT NULL,
    account_ids uuid[] NOT NULL,
    target_date date,
    deleted boolean NOT NULL DEFAULT false,
    version int NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS goals_by_household ON {schema}.goals (household_id, name)
