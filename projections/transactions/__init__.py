"""The transactions read model: one row per transaction, filterable and searchable."""
