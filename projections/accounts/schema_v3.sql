-- Accounts read model, version 3: the date up to which a bank statement confirmed it.
ALTER TABLE {schema}.accounts ADD COLUMN IF NOT EXISTS reconciled_until date
