"""The FiscaFlow domain: money, accounts, transactions and their invariants (pure, no I/O).

Module names here are part of stored event topics (``ledger.account:Account.Opened``):
never rename a module or an event class without registering the old topic.
"""
