-- Transactions read model, version 1. {schema} is the read model's own schema.
CREATE TABLE IF NOT EXISTS {schema}.transactions (
    household_id uuid NOT NULL,
    transaction_id uuid NOT NULL,
    version int NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    date date NOT NULL,
    description text NOT NULL,
    merchant text,
    category text,
    tags text[] NOT NULL,
    notes text,
    amount numeric NOT NULL,
    currency text NOT NULL,
    account_id uuid NOT NULL,
    to_account_id uuid,
    account_ids uuid[] NOT NULL,
    recorded_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig,
            coalesce(description, '') || ' ' || coalesce(merchant, '') || ' ' ||
            coalesce(notes, '') || ' ' || coalesce(category, ''))
    ) STORED,
    PRIMARY KEY (household_id, transaction_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS transactions_by_id ON {schema}.transactions (transaction_id);
CREATE INDEX IF NOT EXISTS transactions_by_date
    ON {schema}.transactions (household_id, date DESC, recorded_at DESC, transaction_id DESC);
CREATE INDEX IF NOT EXISTS transactions_by_account ON {schema}.transactions USING gin (account_ids);
CREATE INDEX IF NOT EXISTS transactions_search ON {schema}.transactions USING gin (search);
