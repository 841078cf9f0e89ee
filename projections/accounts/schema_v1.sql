-- Accounts read model, version 1. {schema} is the read model's own schema.
CREATE TABLE IF NOT EXISTS {schema}.accounts (
    household_id uuid NOT NULL,
    account_id uuid NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    currency text NOT NULL,
    minimum_balance numeric,
    status text NOT NULL,
    balance numeric NOT NULL DEFAULT 0,
    version int NOT NULL,
    opened_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (household_id, account_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS accounts_by_id ON {schema}.accounts (account_id);
CREATE TABLE IF NOT EXISTS {schema}.postings (
    household_id uuid NOT NULL,
    transaction_id uuid NOT NULL,
    line int NOT NULL,
    account text NOT NULL,
    amount numeric NOT NULL,
    currency text NOT NULL,
    date date NOT NULL,
    status text NOT NULL,
    PRIMARY KEY (household_id, transaction_id, line)
);
CREATE INDEX IF NOT EXISTS postings_by_account_date ON {schema}.postings (household_id, account, date);
CREATE INDEX IF NOT EXISTS postings_by_transaction ON {schema}.postings (transaction_id);
