-- Notifications read model, version 1: the in-app inbox, and what it needs to address
-- notifications (members, budgets, preferences, webhooks). Deliveries by email and webhook
-- live in the notify schema instead, which no rebuild drops: their ids derive from the
-- notification, channel and target, so a replay finds them there and sends nothing twice.
CREATE TABLE IF NOT EXISTS {schema}.members (
    household_id uuid NOT NULL,
    user_id uuid NOT NULL,
    PRIMARY KEY (household_id, user_id)
);
CREATE TABLE IF NOT EXISTS {schema}.budgets (
    budget_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    owner_id uuid,
    name text NOT NULL,
    private boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS budgets_by_household ON {schema}.budgets (household_id);
CREATE TABLE IF NOT EXISTS {schema}.preferences (
    settings_id uuid PRIMARY KEY,
    user_id uuid NOT NULL UNIQUE,
    channels jsonb NOT NULL,
    quiet_hours jsonb
);
CREATE TABLE IF NOT EXISTS {schema}.webhooks (
    webhook_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    user_id uuid NOT NULL,
    url text NOT NULL,
    kinds text[] NOT NULL,
    removed boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS webhooks_by_user ON {schema}.webhooks (household_id, user_id);
CREATE TABLE IF NOT EXISTS {schema}.inbox (
    household_id uuid NOT NULL,
    user_id uuid NOT NULL,
    notification_id uuid NOT NULL,
    kind text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    data jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    read boolean NOT NULL DEFAULT false,
    PRIMARY KEY (household_id, user_id, notification_id)
);
CREATE INDEX IF NOT EXISTS inbox_by_time ON {schema}.inbox (household_id, user_id, created_at DESC, notification_id);
CREATE INDEX IF NOT EXISTS inbox_unread ON {schema}.inbox (household_id, user_id) WHERE NOT read;
CREATE SCHEMA IF NOT EXISTS notify;
CREATE TABLE IF NOT EXISTS notify.deliveries (
    delivery_id uuid PRIMARY KEY,
    notification_id uuid NOT NULL,
    household_id uuid NOT NULL,
    user_id uuid NOT NULL,
    channel text NOT NULL,
    webhook_id uuid,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts int NOT NULL DEFAULT 0,
    not_before timestamptz NOT NULL,
    last_error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON notify.deliveries (not_before) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_by_user ON notify.deliveries (household_id, user_id, created_at DESC)
