"""Handlers of account commands: load, decide in the domain, append."""

from __future__ import annotations

from uuid import UUID

from commands.application import Ledger
from commands.loading import check_expected_version, load_account, with_retries
from commands.messages import OpenAccount, RenameAccount, ShareAccount
from commands.write_path import Appended, append
from ledger.account import AccessLevel, Account, AccountKind
from ledger.money import parse_amount


class AccountCommands:
    """Open, rename and close the household's accounts."""

    def __init__(self, app: Ledger) -> None:
        self.app = app

    def open(self, household_id: UUID, command: OpenAccount, actor: UUID | None = None) -> Appended:
        """Open an account; the actor owns it, and ``command.sharing`` is what others may do."""
        minimum = command.minimum_balance
        account = Account.open(
            household_id,
            command.name,
            AccountKind(command.kind),
            command.currency,
            minimum_balance=None if minimum is None else parse_amount(minimum, command.currency),
        )
        if actor is not None:
            account.assign_owner(actor)
        if command.sharing != AccessLevel.FULL:
            account.share(command.sharing, {}, actor or account.id)
        return append(self.app, account)

    def share(
        self, household_id: UUID, account_id: UUID, command: ShareAccount, actor: UUID | None
    ) -> Appended:
        def attempt() -> Appended:
            account = load_account(self.app, household_id, account_id, actor, AccessLevel.VIEW)
            account.share(command.default, dict(command.members), actor or account.id)
            return append(self.app, account)

        return with_retries(attempt)

    def rename(
        self,
        household_id: UUID,
        account_id: UUID,
        command: RenameAccount,
        expected: int | None,
        actor: UUID | None = None,
    ) -> Appended:
        def attempt() -> Appended:
            account = load_account(self.app, household_id, account_id, actor, AccessLevel.FULL)
            check_expected_version(self.app, account, expected)
            account.rename(command.name)
            return append(self.app, account)

        return with_retries(attempt)

    def close(
        self, household_id: UUID, account_id: UUID, expected: int | None, actor: UUID | None = None
    ) -> Appended:
        def attempt() -> Appended:
            account = load_account(self.app, household_id, account_id, actor, AccessLevel.FULL)
            check_expected_version(self.app, account, expected)
            account.close()
            return append(self.app, account)

        return with_retries(attempt)


__all__ = ["AccountCommands"]
