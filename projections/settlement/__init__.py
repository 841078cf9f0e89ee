"""The settlement read model: shared expenses, members' shares, incomes and settle-ups."""
