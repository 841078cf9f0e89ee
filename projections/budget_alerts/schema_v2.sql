-- Budget alerts follower, version 2: every entry's date and currencies, for the exchange
-- rates the household recorded (expenses in other currencies than a budget's count
-- converted at the latest recorded rate, as in budget vs actual and analytics).
CREATE TABLE IF NOT EXISTS {schema}.entries (
    transaction_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    date date NOT NULL,
    currency text NOT NULL,
    original_currency text,
    rate numeric,
    seq bigserial NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_rates ON {schema}.entries (household_id, original_currency, currency, date DESC)
    WHERE rate IS NOT NULL
