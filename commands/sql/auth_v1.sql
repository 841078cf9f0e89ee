-- Refresh-token families, version 1. Authoritative here (not in Redis): a spent refresh
-- token must never come back, also after a cache restart.
CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE IF NOT EXISTS auth.token_families (
    family_id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    household_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_reason text
);
CREATE INDEX IF NOT EXISTS token_families_by_user ON auth.token_families (user_id) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS auth.refresh_tokens (
    token_hash bytea PRIMARY KEY,
    family_id uuid NOT NULL REFERENCES auth.token_families (family_id),
    issued_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX IF NOT EXISTS refresh_tokens_by_family ON auth.refresh_tokens (family_id);
