"""Projectors: events in, read models out, each read model in its own PostgreSQL schema."""
