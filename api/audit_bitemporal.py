"""Bi-temporal audit queries for compliance staff (the `auditor` role, and admins): a
balance or a spending report at an effective date, as the books stood at a recorded time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

from litestar import Controller
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from api.accounts import DEPENDENCIES
from api.responses import query
from api.tenancy import Caller
from queries import bitemporal as q

KnownAt = Annotated[
    dt.datetime | None,
    QueryParameter(
        required=False,
        description="Recorded time, with a time zone: only events stored at or before it count "
        "(what we knew then). All events when absent.",
    ),
]


class BitemporalController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
    dependencies = DEPENDENCIES

    @query("/accounts/{account_id:uuid}/balance", "getAccountBalanceKnownAt")
    def balance(
        self,
        account_id: FromPath[UUID],
        c: NamedDependency[Caller],
        on: Annotated[
            dt.date | None,
            QueryParameter(
                required=False,
                description="Effective date: postings dated on or before it (all when absent).",
            ),
        ] = None,
        known_at: KnownAt = None,
    ) -> q.KnownBalance:
        """An account's balance at an effective date (`on`) as the books stood at a recorded
        time (`known_at`), replayed from the event log: a backdated entry or an edit recorded
        after `known_at` does not count. Cancelled entries are left out, pending holds count.
        Auditors and admins only (403 for everyone else); 404 when the account was not in
        the books then."""
        c.principal.check_auditor()
        return q.balance(c.services.reads, account_id, on, known_at)

    @query("/households/{household_id:uuid}/spending", "getSpendingKnownAt")
    def spending(
        self,
        household_id: FromPath[UUID],
        c: NamedDependency[Caller],
        date_from: Annotated[
            dt.date | None, QueryParameter(required=False, description="First effective date, included.")
        ] = None,
        date_to: Annotated[
            dt.date | None, QueryParameter(required=False, description="Last effective date, included.")
        ] = None,
        known_at: KnownAt = None,
    ) -> q.KnownSpending:
        """The household's expenses dated from `date_from` to `date_to` (either open when
        absent), by category and
        currency (amounts are not converted), as the books stood at `known_at`, replayed
        from the event log. Auditors and admins only (403 for everyone else)."""
        c.principal.check_auditor()
        return q.spending(c.services.reads, household_id, date_from, date_to, known_at)
