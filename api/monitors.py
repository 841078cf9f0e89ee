"""Balance monitors: alert me when an account's balance crosses my threshold."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.accounts import DEPENDENCIES
from api.consistency import TokenHeader, TokenQuery, read_after
from api.responses import Accepted, accepted, command, query
from api.tenancy import Caller
from commands.planning_messages import ChangeMonitor, CreateMonitor
from queries import monitors as q
from queries.db import ACCOUNTS_SCHEMA, MONITORS_SCHEMA

SCHEMAS = (MONITORS_SCHEMA, ACCOUNTS_SCHEMA)


class MonitorController(Controller):
    path = "/api/v1/monitors"
    tags = ["notifications"]
    dependencies = DEPENDENCIES

    @command(post, "/", "createMonitor", 201)
    def create(self, data: JSONBody[CreateMonitor], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Watch an account you can see: a `below` monitor alerts when a posting takes the
        balance from at or above `threshold` to under it, an `above` one the other way. Every
        crossing alerts (as `balance.threshold`, on your channels); a balance already past the
        threshold waits for the next crossing. Monitors are personal: only you see yours."""
        result = c.run(lambda: c.services.monitors.create(c.household, data, c.user_id))
        return accepted(result, 201, f"{self.path}/{result.id}")

    @command(put, "/{monitor_id:uuid}", "changeMonitor")
    def change(
        self, monitor_id: FromPath[UUID], data: JSONBody[ChangeMonitor], c: NamedDependency[Caller]
    ) -> Response[Accepted]:
        """Change a monitor's name, threshold or direction."""
        change = c.services.monitors.change
        return accepted(c.run(lambda: change(c.household, monitor_id, data, c.user_id)))

    @command(delete, "/{monitor_id:uuid}", "deleteMonitor")
    def delete_(self, monitor_id: FromPath[UUID], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Stop watching."""
        return accepted(c.run(lambda: c.services.monitors.delete(c.household, monitor_id, c.user_id)))

    @query("/", "listMonitors")
    def list_(
        self, c: NamedDependency[Caller], token: TokenHeader = None, after: TokenQuery = None
    ) -> list[q.MonitorView]:
        """Your monitors, with each account's balance now."""
        read_after(c.services, SCHEMAS, token, after)
        return q.list_monitors(c.services.reads, c.household, c.user_id)

    @query("/{monitor_id:uuid}", "getMonitor")
    def get_one(
        self,
        monitor_id: FromPath[UUID],
        c: NamedDependency[Caller],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> q.MonitorView:
        """One of your monitors."""
        read_after(c.services, SCHEMAS, token, after)
        return q.get_monitor(c.services.reads, c.household, monitor_id, c.user_id)
