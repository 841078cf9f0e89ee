"""Period close: fix a period's figures (each account's balance, the event log's chain head)
and refuse later changes dated in it, unless an admin overrides with a reason.

The closes are read from the household's ``Books`` aggregate itself (a short list that the
write side enforces), like a transaction's history is read from the event log.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.accounts import DEPENDENCIES
from api.responses import CONSISTENCY_HEADER, command, query
from api.tenancy import Caller
from commands.period_messages import ClosePeriod, ReopenPeriod
from ledger.books import Books, PeriodClose
from ledger.errors import ForbiddenError
from ledger.household import HouseholdRole
from ledger.user import GlobalRole


class MoneyView(msgspec.Struct, kw_only=True):
    amount: str  # a decimal string, never a JSON number
    currency: str


class PeriodCloseView(msgspec.Struct, kw_only=True):
    """One close: the balances of every account on its last day and the chain head then."""

    through: dt.date
    balances: dict[str, MoneyView]  # account id -> balance of postings dated on or before `through`
    chain_head: str  # hex SHA-256 digest of the event log's checkpoint taken when it closed
    closed_by: UUID | None


class BooksView(msgspec.Struct, kw_only=True):
    id: UUID
    version: int
    closed_through: dt.date | None
    closes: list[PeriodCloseView]  # oldest first; a reopened close is gone from the list


class PeriodClosed(PeriodCloseView, kw_only=True):
    """The close just recorded, with the books' id, version and the consistency token."""

    id: UUID
    version: int
    consistency_token: int


def close_view(close: PeriodClose) -> PeriodCloseView:
    balances = {
        account: MoneyView(amount=str(money.amount), currency=money.currency)
        for account, money in close.balances.items()
    }
    return PeriodCloseView(
        through=close.through, balances=balances, chain_head=close.chain_head, closed_by=close.closed_by
    )


def books_view(books: Books) -> BooksView:
    return BooksView(
        id=books.id,
        version=books.version,
        closed_through=books.closed_through,
        closes=[close_view(c) for c in books.closes],
    )


def check_may_close(c: Caller) -> None:
    """A family_owner of the household, or an admin, closes its periods."""
    principal = c.principal
    if principal.role != GlobalRole.ADMIN and principal.household_role != HouseholdRole.OWNER:
        raise ForbiddenError("only a family_owner of the household or an admin may close a period")


class PeriodController(Controller):
    path = "/api/v1/periods"
    tags = ["periods"]
    dependencies = DEPENDENCIES

    @command(post, "/close", "closePeriod", 201)
    def close(self, data: JSONBody[ClosePeriod], c: NamedDependency[Caller]) -> Response[PeriodClosed]:
        """Close the books through `through` (inclusive): records each account's balance from
        postings dated on or before it and the event log's chain head (a checkpoint taken
        now). Periods close in order (409 `period-closed` for a date on or before the last
        close); pending transactions in the period must be posted or voided first (409
        `open-holds`). Afterwards a change to a transaction dated on or before the close
        (its date before or after the change) is refused with 409 `period-closed`, unless an
        admin sends `X-Override-Reason: <why>`, which is recorded as a
        `Books.ClosedPeriodOverridden` event in the same append. family_owner or admin."""
        check_may_close(c)
        periods = c.services.periods
        result = c.run(lambda: periods.close(c.household, data.through, c.user_id))
        books = periods.app.repository.get(result.id, version=result.version)  # as this close left them
        view = close_view(books.closes[-1])
        body = PeriodClosed(
            **msgspec.structs.asdict(view),
            id=result.id,
            version=result.version,
            consistency_token=result.position,
        )
        headers = {CONSISTENCY_HEADER: str(result.position), "Location": f"{self.path}/{result.id}"}
        return Response(body, status_code=201, headers=headers)

    @command(post, "/reopen", "reopenPeriod")
    def reopen(self, data: JSONBody[ReopenPeriod], c: NamedDependency[Caller]) -> Response[BooksView]:
        """Take back the latest close, with the reason (recorded as `Books.PeriodReopened`):
        the close before it, if any, is in force again. Admins only."""
        c.principal.check_admin()
        result = c.run(lambda: c.services.periods.reopen(c.household, data.reason, c.user_id))
        body = books_view(c.services.periods.books(c.household))
        return Response(body, headers={CONSISTENCY_HEADER: str(result.position)})

    @query("/", "listPeriods")
    def list_(self, c: NamedDependency[Caller]) -> BooksView:
        """The household's closes, oldest first, and the date it is closed through."""
        return books_view(c.services.periods.books(c.household))

    @query("/{books_id:uuid}", "getPeriods")
    def get_one(self, books_id: FromPath[UUID], c: NamedDependency[Caller]) -> BooksView:
        """The same, by the id a close answered (another household's books: 404)."""
        return books_view(c.services.periods.books(c.household, books_id))
