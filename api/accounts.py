"""Account endpoints: commands (POST/PUT/DELETE) and queries (GET), in separate controllers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from api.auth import can_write
from api.consistency import TokenHeader, TokenQuery, read_after
from api.idempotency import idempotency_key
from api.responses import Accepted, accepted, command, expected_version, query
from api.tenancy import Caller, household_caller
from commands.messages import OpenAccount, RenameAccount, ShareAccount
from queries import accounts as q
from queries.db import ACCOUNTS_SCHEMA, TRANSACTIONS_SCHEMA
from queries.views import AccountView, BalanceView

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        pattern=r'^(W/)?"?[0-9]{1,18}"?$',
        description="The version you last read (ETag); a stale one gets 409.",
    ),
]
WRITE = [can_write]  # read_only members may query, not command
DEPENDENCIES = {
    "idem": Provide(idempotency_key),
    "c": Provide(household_caller, sync_to_thread=False),
}


class AccountCommandHandlers:
    """Command endpoints (they append events)."""

    path = "/api/v1/accounts"

    @command(post, "/", "openAccount", 201, guards=WRITE)
    def open_account(
        self,
        data: JSONBody[OpenAccount],
        c: NamedDependency[Caller],
    ) -> Response[Accepted]:
        """Open an account (asset, liability, income, expense or equity) in one currency.

        `minimum_balance` (e.g. "0") makes the ledger refuse any posting that would take the
        balance below it, even under concurrent writers."""
        result = c.run(lambda: c.services.accounts.open(c.household, data, c.user_id))
        return accepted(result, 201, f"{self.path}/{result.id}")

    @command(put, "/{account_id:uuid}", "renameAccount", guards=WRITE)
    def rename_account(
        self,
        account_id: FromPath[UUID],
        data: JSONBody[RenameAccount],
        c: NamedDependency[Caller],
        if_match: IfMatch = None,
    ) -> Response[Accepted]:
        """Rename an account."""
        return accepted(
            c.run(
                lambda: c.services.accounts.rename(
                    c.household, account_id, data, expected_version(if_match), c.user_id
                ),
            )
        )

    @command(put, "/{account_id:uuid}/sharing", "shareAccount", guards=WRITE)
    def share_account(
        self,
        account_id: FromPath[UUID],
        data: JSONBody[ShareAccount],
        c: NamedDependency[Caller],
    ) -> Response[Accepted]:
        """Decide what other household members may do with your account: `none` (private:
        the account and its transactions are invisible to them), `view`, `annotate`
        (describe, tag and categorise its transactions) or `full`; a default plus
        per-member exceptions. Only the account's owner may change this."""
        return accepted(c.run(lambda: c.services.accounts.share(c.household, account_id, data, c.user_id)))

    @command(delete, "/{account_id:uuid}", "closeAccount", guards=WRITE)
    def close_account(
        self,
        account_id: FromPath[UUID],
        c: NamedDependency[Caller],
        if_match: IfMatch = None,
    ) -> Response[Accepted]:
        """Close an account; its balance must be zero. A closed account takes no postings."""
        return accepted(
            c.run(
                lambda: c.services.accounts.close(
                    c.household, account_id, expected_version(if_match), c.user_id
                ),
            )
        )


class AccountQueryHandlers:
    """Query endpoints (they read read models only)."""

    @query("/", "listAccounts")
    def list_accounts(
        self,
        c: NamedDependency[Caller],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> list[AccountView]:
        """The household's accounts with their current balances (debit-positive)."""
        read_after(c.services, (ACCOUNTS_SCHEMA,), token, after)
        return q.list_accounts(c.services.reads, c.household, c.user_id)

    @query("/{account_id:uuid}", "getAccount")
    def get_account(
        self,
        account_id: FromPath[UUID],
        c: NamedDependency[Caller],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> AccountView:
        """One account."""
        read_after(c.services, (ACCOUNTS_SCHEMA,), token, after)
        return q.get_account(c.services.reads, c.household, account_id, c.user_id)

    @query("/{account_id:uuid}/balance", "getAccountBalance")
    def get_balance(
        self,
        account_id: FromPath[UUID],
        c: NamedDependency[Caller],
        as_of: Annotated[
            dt.date | None, QueryParameter(required=False, description="Balance at the end of this date.")
        ] = None,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> BalanceView:
        """The balance from the postings dated on or before `as_of` (today's when absent);
        cancelled transactions are left out."""
        read_after(c.services, (ACCOUNTS_SCHEMA,), token, after)
        return q.balance(c.services.reads, c.household, account_id, as_of, c.user_id)

    @query("/{account_id:uuid}/balance/explain", "explainAccountBalance")
    def explain_balance(
        self,
        account_id: FromPath[UUID],
        c: NamedDependency[Caller],
        at: Annotated[
            dt.date | None, QueryParameter(required=False, description="The balance at the end of this date.")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1000,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> q.BalanceExplanation:
        """The postings that add up to the balance at the end of `at` (all when absent),
        oldest first, each with its cause: `manual` (recorded by a person), `import` (with
        its batch), `transfer` (between own accounts, also a matched one) or `scheduled`
        (a recurring transaction), and the rule that categorised it, if any. `truncated`
        says whether `limit` cut the list (the balance is always the whole figure)."""
        read_after(c.services, (ACCOUNTS_SCHEMA, TRANSACTIONS_SCHEMA), token, after)
        return q.explain_balance(c.services.reads, c.household, account_id, at, limit, c.user_id)


class AccountController(AccountCommandHandlers, AccountQueryHandlers, Controller):
    """Litestar allows one controller per path: it joins the command and query handlers."""

    path = "/api/v1/accounts"
    tags = ["accounts"]
    dependencies = DEPENDENCIES
