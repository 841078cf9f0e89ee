-- Transactions read model, version 3: reconciliation against bank statements.
ALTER TABLE {schema}.transactions ADD COLUMN IF NOT EXISTS reconciled boolean NOT NULL DEFAULT false
