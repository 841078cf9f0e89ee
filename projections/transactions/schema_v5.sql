-- Transactions read model, version 5: where an imported transaction came from.
ALTER TABLE {schema}.transactions ADD COLUMN IF NOT EXISTS import_batch_id uuid;
ALTER TABLE {schema}.transactions ADD COLUMN IF NOT EXISTS external_id text;
CREATE INDEX IF NOT EXISTS transactions_by_import ON {schema}.transactions (import_batch_id)
    WHERE import_batch_id IS NOT NULL
;
CREATE TABLE IF NOT EXISTS {schema}.imports (
    batch_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    account_id uuid NOT NULL,
    source jsonb NOT NULL,
    report jsonb,
    reverted boolean NOT NULL DEFAULT false,
    started_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS imports_by_household ON {schema}.imports (household_id, started_at DESC)
