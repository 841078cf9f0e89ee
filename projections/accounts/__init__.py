"""The accounts read model: each account with its balance, and every posting by date."""
