-- Transactions read model, version 7: holds of pending transactions, foreign currencies.
ALTER TABLE {schema}.transactions ADD COLUMN IF NOT EXISTS expires_at timestamptz;
ALTER TABLE {schema}.transactions ADD COLUMN IF NOT EXISTS original_amount numeric;
ALTER TABLE {schema}.transactions ADD COLUMN IF NOT EXISTS original_currency text;
ALTER TABLE {schema}.transactions ADD COLUMN IF NOT EXISTS rate numeric;
CREATE INDEX IF NOT EXISTS transactions_holds ON {schema}.transactions (expires_at) WHERE status = 'pending'
