-- Balance monitors follower, version 1: its own copy of the balances it watches, the
-- monitors, and an outbox of crossings that the relay appends as BalanceAlert events.
CREATE TABLE IF NOT EXISTS {schema}.balances (
    account_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    currency text NOT NULL,
    balance numeric NOT NULL
);
CREATE INDEX IF NOT EXISTS balances_by_household ON {schema}.balances (household_id);
CREATE TABLE IF NOT EXISTS {schema}.monitors (
    monitor_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    owner_id uuid,
    account_id uuid NOT NULL,
    name text NOT NULL,
    threshold numeric NOT NULL,
    currency text NOT NULL,
    direction text NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    version int NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS monitors_by_account ON {schema}.monitors (account_id) WHERE NOT deleted;
CREATE INDEX IF NOT EXISTS monitors_by_household ON {schema}.monitors (household_id);
CREATE TABLE IF NOT EXISTS {schema}.outbox (
    alert_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    monitor_id uuid NOT NULL,
    account_version int NOT NULL,
    owner_id uuid,
    account_id uuid NOT NULL,
    name text NOT NULL,
    direction text NOT NULL,
    threshold numeric NOT NULL,
    balance numeric NOT NULL,
    currency text NOT NULL
)
