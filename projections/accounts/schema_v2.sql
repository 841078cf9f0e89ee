-- Accounts read model, version 2: sharing inside the household.
ALTER TABLE {schema}.accounts ADD COLUMN IF NOT EXISTS owner_id uuid;
ALTER TABLE {schema}.accounts ADD COLUMN IF NOT EXISTS default_access text NOT NULL DEFAULT 'full';
ALTER TABLE {schema}.accounts ADD COLUMN IF NOT EXISTS member_access jsonb NOT NULL DEFAULT jsonb_build_object()
