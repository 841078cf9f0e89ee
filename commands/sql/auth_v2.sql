-- Personal access tokens and second factors, version 2.
CREATE TABLE IF NOT EXISTS auth.personal_tokens (
    token_id uuid PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    user_id uuid NOT NULL,
    household_id uuid NOT NULL,
    household_role text NOT NULL,
    role text NOT NULL,
    name text NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS personal_tokens_by_user ON auth.personal_tokens (user_id);
CREATE TABLE IF NOT EXISTS auth.second_factors (
    user_id uuid PRIMARY KEY,
    secret text NOT NULL,
    enabled_at timestamptz,
    last_step bigint NOT NULL DEFAULT 0,
    recovery_hashes bytea[] NOT NULL DEFAULT '{}'
);
