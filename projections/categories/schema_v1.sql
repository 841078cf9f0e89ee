-- Categories read model, version 1: each household's category tree, rules and rule runs.
-- A household without rows here has the default tree (ledger.categories.DEFAULT_TREE).
CREATE TABLE IF NOT EXISTS {schema}.books (
    book_id uuid PRIMARY KEY,
    household_id uuid NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS {schema}.categories (
    household_id uuid NOT NULL,
    name text NOT NULL,
    parent text,
    kind text NOT NULL,
    archived boolean NOT NULL DEFAULT false,
    builtin boolean NOT NULL DEFAULT false,
    PRIMARY KEY (household_id, name)
);
CREATE TABLE IF NOT EXISTS {schema}.rules (
    household_id uuid NOT NULL,
    rule_id uuid PRIMARY KEY,
    body jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS rules_by_household ON {schema}.rules (household_id);
CREATE TABLE IF NOT EXISTS {schema}.rule_runs (
    run_id uuid PRIMARY KEY,
    household_id uuid NOT NULL,
    rule_id uuid NOT NULL,
    transactions int NOT NULL,
    undone boolean NOT NULL DEFAULT false,
    ran_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS rule_runs_by_household ON {schema}.rule_runs (household_id, ran_at DESC)
