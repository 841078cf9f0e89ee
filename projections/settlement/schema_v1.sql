-- Settlement read model, version 1: each household's shared expenses with every member's
-- share, the incomes the income method splits by, and the settle-ups. Whether a shared
-- expense still counts is decided at query time from read_transactions (its status).
CREATE TABLE IF NOT EXISTS {schema}.books (
    household_id uuid PRIMARY KEY,
    book_id uuid NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS {schema}.shares (
    household_id uuid NOT NULL,
    transaction_id uuid NOT NULL,
    paid_by uuid NOT NULL,
    amount numeric NOT NULL,
    currency text NOT NULL,
    method text NOT NULL,
    shared_at timestamptz NOT NULL,
    PRIMARY KEY (household_id, transaction_id)
);
CREATE TABLE IF NOT EXISTS {schema}.share_parts (
    household_id uuid NOT NULL,
    transaction_id uuid NOT NULL,
    member_id uuid NOT NULL,
    amount numeric NOT NULL,
    currency text NOT NULL,
    PRIMARY KEY (household_id, transaction_id, member_id)
);
CREATE TABLE IF NOT EXISTS {schema}.incomes (
    household_id uuid NOT NULL,
    member_id uuid NOT NULL,
    amount numeric NOT NULL,
    currency text NOT NULL,
    PRIMARY KEY (household_id, member_id)
);
CREATE TABLE IF NOT EXISTS {schema}.settle_ups (
    household_id uuid NOT NULL,
    settlement_id uuid NOT NULL,
    from_member uuid NOT NULL,
    to_member uuid NOT NULL,
    amount numeric NOT NULL,
    currency text NOT NULL,
    transaction_id uuid,
    settled_at timestamptz NOT NULL,
    PRIMARY KEY (household_id, settlement_id)
)
