"""Category and rule endpoints: the household's category tree, rules, and rule runs."""

from __future__ import annotations

from typing import Annotated
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import msgspec
from litestar import Controller, Response, delete, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.accounts import DEPENDENCIES, WRITE
from api.consistency import TokenHeader, TokenQuery, read_after
from api.responses import Accepted, accepted, command, query
from api.tenancy import Caller
from commands.messages import AddCategory, MergeCategory, RenameCategory, RuleBody, RunRule
from commands.write_path import Appended
from ledger.categories import book_id
from ledger.errors import InvalidInputError, NotFoundError
from queries import audit as audit_q
from queries import categories as q
from queries.db import CATEGORIES_SCHEMA, TRANSACTIONS_SCHEMA
from queries.views import CategoryView, RuleRunView, RuleView

CategoryName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^:/]+$")]


class CategoryCommandHandlers:
    path = "/api/v1/categories"

    @command(post, "/", "addCategory", 201, guards=WRITE)
    def add(self, data: JSONBody[AddCategory], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Add a category of the household's own, at the top or under a group (two levels).
        Recording a transaction under an unknown category adds it too."""
        return accepted(c.run(lambda: c.services.categories.add(c.household, data)), 201)

    @command(put, "/{name:str}", "renameCategory", guards=WRITE)
    def rename(
        self, name: FromPath[CategoryName], data: JSONBody[RenameCategory], c: NamedDependency[Caller]
    ) -> Response[Accepted]:
        """Rename a category: its transactions, subcategories and rules follow. The history
        keeps what was recorded; the read models show the new name."""
        return accepted(c.run(lambda: c.services.categories.rename(c.household, name, data)))

    @command(post, "/{name:str}/merge", "mergeCategory", guards=WRITE)
    def merge(
        self, name: FromPath[CategoryName], data: JSONBody[MergeCategory], c: NamedDependency[Caller]
    ) -> Response[Accepted]:
        """Merge this category into another: everything in it moves there, and it is gone."""
        return accepted(c.run(lambda: c.services.categories.merge(c.household, name, data)))

    @command(post, "/{name:str}/archive", "archiveCategory", guards=WRITE)
    def archive(self, name: FromPath[CategoryName], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Archive a category: its history stays, new transactions may not use it."""
        return accepted(c.run(lambda: c.services.categories.archive(c.household, name)))


class CategoryQueryHandlers:
    @query("/", "listCategories")
    def list_(
        self,
        c: NamedDependency[Caller],
        archived: Annotated[bool, QueryParameter(required=False)] = True,
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> list[CategoryView]:
        """The household's category tree: each group followed by its subcategories."""
        read_after(c.services, (CATEGORIES_SCHEMA,), token, after)
        return q.list_categories(c.services.reads, c.household, archived=archived)


class CategoryController(CategoryCommandHandlers, CategoryQueryHandlers, Controller):
    path = "/api/v1/categories"
    tags = ["categories"]
    dependencies = DEPENDENCIES


class Change(msgspec.Struct, kw_only=True):
    transaction_id: UUID
    changes: dict[str, list[object]]  # field -> [before, after]


class RunPreview(msgspec.Struct, kw_only=True):
    """What a rule run would change (nothing was stored)."""

    changes: list[Change]


class RunAccepted(msgspec.Struct, kw_only=True):
    run_id: UUID
    consistency_token: int


class RuleCommandHandlers:
    path = "/api/v1/rules"

    @command(post, "/", "createRule", 201, guards=WRITE)
    def create(self, data: JSONBody[RuleBody], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Create a rule. It applies to transactions recorded or imported from now on; run
        it to apply it to past ones. `id` in the answer is the rule's id."""
        rule_id = self._new_id(c)
        result = c.run(lambda: c.services.categories.save_rule(c.household, None, data, rule_id))
        return accepted(Appended(rule_id, result.version, result.position), 201, f"{self.path}/{rule_id}")

    @command(put, "/{rule_id:uuid}", "replaceRule", guards=WRITE)
    def replace(
        self, rule_id: FromPath[UUID], data: JSONBody[RuleBody], c: NamedDependency[Caller]
    ) -> Response[Accepted]:
        """Replace a rule's name, triggers, actions, priority or state."""
        result = c.run(lambda: c.services.categories.save_rule(c.household, rule_id, data))
        return accepted(Appended(rule_id, result.version, result.position))

    @command(delete, "/{rule_id:uuid}", "deleteRule", guards=WRITE)
    def delete_(self, rule_id: FromPath[UUID], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Delete a rule. What it changed stays (undo its runs first if that is wanted)."""
        result = c.run(lambda: c.services.categories.delete_rule(c.household, rule_id))
        return accepted(Appended(rule_id, result.version, result.position))

    @command(post, "/{rule_id:uuid}/runs", "runRule", guards=WRITE)
    def run(
        self, rule_id: FromPath[UUID], data: JSONBody[RunRule], c: NamedDependency[Caller]
    ) -> Response[RunPreview] | Response[RunAccepted]:
        """Apply a rule to past transactions it matches (that you may annotate). With
        `preview: true` the answer is the diff and nothing is stored; otherwise the changes
        are stored as one run caused by the rule (201), which can be undone as one step."""
        categories = c.services.categories
        if data.preview:
            result = categories.run_rule(c.household, rule_id, c.user_id, preview=True, since=data.since)
            changes = [Change(transaction_id=i, changes=ch) for i, ch in result.changes]
            return Response(RunPreview(changes=changes))
        run_id = self._new_id(c)

        def run() -> Appended:
            done = categories.run_rule(
                c.household, rule_id, c.user_id, preview=False, since=data.since, run_id=run_id
            )
            if done.appended is None:
                raise InvalidInputError("the rule changes no transaction: nothing to run")
            return done.appended

        result = c.run(run)
        return Response(RunAccepted(run_id=run_id, consistency_token=result.position), status_code=201)

    @command(post, "/runs/{run_id:uuid}/undo", "undoRuleRun", guards=WRITE)
    def undo(self, run_id: FromPath[UUID], c: NamedDependency[Caller]) -> Response[Accepted]:
        """Undo a rule run as one step: each field it changed goes back, unless someone
        changed that field again since (that later change is kept)."""
        result = c.run(lambda: c.services.categories.undo_run(c.household, run_id, c.user_id))
        return accepted(Appended(run_id, result.version, result.position))

    @staticmethod
    def _new_id(c: Caller) -> UUID:
        """A new id; the same for a retry with the same Idempotency-Key."""
        if c.idempotency is None:
            return uuid4()
        return uuid5(NAMESPACE_URL, f"fiscaflow:idempotent:{c.idempotency.scope}:{c.idempotency.key}")


class RuleQueryHandlers:
    @query("/", "listRules")
    def list_(
        self, c: NamedDependency[Caller], token: TokenHeader = None, after: TokenQuery = None
    ) -> list[RuleView]:
        """The rules in the order they are tried (priority, then name)."""
        read_after(c.services, (CATEGORIES_SCHEMA,), token, after)
        return q.list_rules(c.services.reads, c.household)

    @query("/{rule_id:uuid}/changes", "getRuleChanges")
    def changes(self, rule_id: FromPath[UUID], c: NamedDependency[Caller]) -> list[audit_q.ChangeEntry]:
        """Who changed which field of the rule (triggers, actions, priority, ...) from what
        to what, when and why, oldest first, from the category book's log."""
        try:  # the household's own book: another household's rule is not in it
            found = audit_q.field_changes(
                c.services.reads, book_id(c.household), lambda b: b.rules.get(rule_id)
            )
        except NotFoundError:
            found = []
        if not found:
            raise NotFoundError(f"no rule {rule_id}")
        return found

    @query("/{rule_id:uuid}", "getRule")
    def get_one(
        self,
        rule_id: FromPath[UUID],
        c: NamedDependency[Caller],
        token: TokenHeader = None,
        after: TokenQuery = None,
    ) -> RuleView:
        read_after(c.services, (CATEGORIES_SCHEMA,), token, after)
        return q.get_rule(c.services.reads, c.household, rule_id)

    @query("/runs", "listRuleRuns")
    def runs(
        self, c: NamedDependency[Caller], token: TokenHeader = None, after: TokenQuery = None
    ) -> list[RuleRunView]:
        """Rule runs, newest first (the last 200)."""
        read_after(c.services, (CATEGORIES_SCHEMA, TRANSACTIONS_SCHEMA), token, after)
        return q.list_runs(c.services.reads, c.household)


class RuleController(RuleCommandHandlers, RuleQueryHandlers, Controller):
    path = "/api/v1/rules"
    tags = ["rules"]
    dependencies = DEPENDENCIES
