"""The read side: queries over read-model tables, always scoped to one household."""
