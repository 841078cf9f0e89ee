-- Transactions read model, version 6: receipts attached to transactions.
CREATE TABLE IF NOT EXISTS {schema}.receipts (
    transaction_id uuid NOT NULL,
    sha256 text NOT NULL,
    name text NOT NULL,
    content_type text NOT NULL,
    size bigint NOT NULL,
    attached_at timestamptz NOT NULL,
    PRIMARY KEY (transaction_id, sha256)
)
;
ALTER TABLE {schema}.transactions ADD COLUMN IF NOT EXISTS receipts int NOT NULL DEFAULT 0
