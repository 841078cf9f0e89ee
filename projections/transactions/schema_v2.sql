-- Transactions read model, version 2: who may see which account, to hide transactions of
-- private accounts. An account without a row here is visible to every member.
CREATE TABLE IF NOT EXISTS {schema}.account_access (
    account_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    owner_id uuid,
    default_access text NOT NULL DEFAULT 'full',
    member_access jsonb NOT NULL DEFAULT jsonb_build_object()
);
CREATE INDEX IF NOT EXISTS account_access_by_household ON {schema}.account_access (household_id)
