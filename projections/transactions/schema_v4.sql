-- Transactions read model, version 4: who chose the category (manual, rule, ml) and how sure.
ALTER TABLE {schema}.transactions ADD COLUMN IF NOT EXISTS categorization_source text;
ALTER TABLE {schema}.transactions ADD COLUMN IF NOT EXISTS confidence numeric;
ALTER TABLE {schema}.transactions ADD COLUMN IF NOT EXISTS rule_id uuid;
CREATE INDEX IF NOT EXISTS transactions_by_category ON {schema}.transactions (household_id, lower(category))
