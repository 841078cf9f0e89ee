-- Transactions read model, version 8: indexes for analytics (a budget's categories over a
-- period, and the recorded exchange rates).
CREATE INDEX IF NOT EXISTS transactions_by_category_date ON {schema}.transactions (household_id, lower(category), date);
DROP INDEX IF EXISTS {schema}.transactions_by_category;
CREATE INDEX IF NOT EXISTS transactions_rates ON {schema}.transactions (household_id, original_currency, currency, date DESC)
    WHERE rate IS NOT NULL
