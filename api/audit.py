"""The audit trail for compliance staff (the `auditor` role, and admins): the event log
itself, across households, read-only."""

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
from queries import audit as q

Limit = Annotated[int, QueryParameter(ge=1, le=q.MAX_LIMIT, description="At most this many.")]
Optional = QueryParameter(required=False)


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
    dependencies = DEPENDENCIES

    @query("/events", "listAuditEvents")
    def events(
        self,
        c: NamedDependency[Caller],
        aggregate_id: Annotated[UUID | None, Optional] = None,
        actor: Annotated[
            UUID | None, QueryParameter(required=False, description="The user who caused it.")
        ] = None,
        household_id: Annotated[UUID | None, Optional] = None,
        type_: Annotated[
            str | None, QueryParameter(name="type", required=False, max_length=100, pattern=r"^[A-Za-z.]+$")
        ] = None,
        recorded_from: Annotated[dt.datetime | None, Optional] = None,
        recorded_to: Annotated[dt.datetime | None, Optional] = None,
        after: Annotated[int, QueryParameter(ge=0, description="A page's `next_after`.")] = 0,
        limit: Limit = 100,
    ) -> q.EventPage:
        """Stored events in the order they were stored, each with who and why (actor,
        household, correlation id, command, hashed client address), filtered by aggregate,
        actor, household, type (e.g. `Transaction.Recorded`) and recording time; page with
        `after`. Auditors and admins only (403 for everyone else)."""
        c.principal.check_auditor()
        f = q.EventFilter(aggregate_id, actor, household_id, type_, recorded_from, recorded_to)
        return q.events(c.services.reads, f, after, limit)

    @query("/aggregates/{aggregate_id:uuid}/history", "getAggregateHistory")
    def history(
        self,
        aggregate_id: FromPath[UUID],
        c: NamedDependency[Caller],
        after_version: Annotated[int, QueryParameter(ge=0)] = 0,
        limit: Limit = 100,
    ) -> list[q.HistoryEntry]:
        """Every event of an aggregate (account, transaction, budget, user, ...) with the
        state it left the aggregate in. Auditors and admins only."""
        c.principal.check_auditor()
        return q.history(c.services.reads, aggregate_id, after_version, limit)

    @query("/aggregates/{aggregate_id:uuid}", "getAggregateState")
    def state(
        self,
        aggregate_id: FromPath[UUID],
        c: NamedDependency[Caller],
        as_of: Annotated[
            dt.datetime | None, QueryParameter(required=False, description="As it stood at this time.")
        ] = None,
        version: Annotated[int | None, QueryParameter(required=False, ge=1)] = None,
    ) -> q.AggregateState:
        """An aggregate as it was at a time (`as_of`: after the last event recorded by then)
        or at a version; an account's `balance` then. Auditors and admins only."""
        c.principal.check_auditor()
        return q.state_at(c.services.reads, aggregate_id, as_of, version)
