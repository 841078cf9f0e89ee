-- Directory read model, version 1. {schema} is the read model's own schema.
CREATE TABLE IF NOT EXISTS {schema}.users (
    user_id uuid PRIMARY KEY,
    email text NOT NULL,
    display_name text NOT NULL,
    role text NOT NULL,
    status text NOT NULL,
    email_verified boolean NOT NULL,
    registered_at timestamptz NOT NULL,
    last_login_at timestamptz,
    version int NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.households (
    household_id uuid PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL,
    version int NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.members (
    household_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role text NOT NULL,
    joined_at timestamptz NOT NULL,
    PRIMARY KEY (household_id, user_id)
);
CREATE INDEX IF NOT EXISTS members_by_user ON {schema}.members (user_id);
