-- Webhook signing secrets, version 3. Kept out of the event log (which is immutable and
-- exported for audits): a secret is shown once, when its webhook is added, and deleted
-- with the webhook.
CREATE TABLE IF NOT EXISTS auth.webhook_secrets (
    webhook_id uuid PRIMARY KEY,
    secret text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
