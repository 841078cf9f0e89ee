"""Projects each household's category book: categories, rules and rule runs."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from ledger.categories import CategoryBook, Rule
from projections.base import Projection


class CategoriesProjection(Projection):
    name = "categories"
    schema_version = 1
    sql_package = "projections.categories"
    handles = (
        CategoryBook.Opened,
        CategoryBook.Added,
        CategoryBook.Renamed,
        CategoryBook.Merged,
        CategoryBook.Archived,
        CategoryBook.RuleSaved,
        CategoryBook.RuleDeleted,
        CategoryBook.RuleRun,
        CategoryBook.RuleRunUndone,
    )

    @singledispatchmethod
    def apply(self, event: object, curs: Cursor[Any]) -> None:
        self.unexpected(event)

    @apply.register
    def _(self, e: CategoryBook.Opened, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.books VALUES (%s, %s)",  # noqa: S608
            (e.originator_id, e.household_id),
        )
        for name, parent, kind in e.defaults:
            self._insert(curs, e.household_id, name, parent, kind, builtin=True)

    @apply.register
    def _(self, e: CategoryBook.Added, curs: Cursor[Any]) -> None:
        self._insert(curs, self._household(curs, e), e.name, e.parent, e.kind, builtin=False)

    @apply.register
    def _(self, e: CategoryBook.Renamed, curs: Cursor[Any]) -> None:
        household = self._household(curs, e)
        curs.execute(
            f"UPDATE {self.schema}.categories SET name = %s WHERE household_id = %s AND name = %s",  # noqa: S608
            (e.new, household, e.old),
        )
        self._repoint(curs, household, e.old, e.new)

    @apply.register
    def _(self, e: CategoryBook.Merged, curs: Cursor[Any]) -> None:
        household = self._household(curs, e)
        curs.execute(
            f"DELETE FROM {self.schema}.categories WHERE household_id = %s AND name = %s",  # noqa: S608
            (household, e.source),
        )
        self._repoint(curs, household, e.source, e.into)

    @apply.register
    def _(self, e: CategoryBook.Archived, curs: Cursor[Any]) -> None:
        curs.execute(
            f"UPDATE {self.schema}.categories SET archived = true WHERE household_id = %s AND name = %s",  # noqa: S608
            (self._household(curs, e), e.name),
        )

    @apply.register
    def _(self, e: CategoryBook.RuleSaved, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.rules VALUES (%s, %s, %s, %s)"  # noqa: S608
            " ON CONFLICT (rule_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            (self._household(curs, e), Rule.from_dict(e.rule).id, Jsonb(e.rule), e.timestamp),
        )

    @apply.register
    def _(self, e: CategoryBook.RuleDeleted, curs: Cursor[Any]) -> None:
        curs.execute(f"DELETE FROM {self.schema}.rules WHERE rule_id = %s", (e.rule_id,))  # noqa: S608

    @apply.register
    def _(self, e: CategoryBook.RuleRun, curs: Cursor[Any]) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.rule_runs VALUES (%s, %s, %s, %s, false, %s)",  # noqa: S608
            (e.run_id, self._household(curs, e), e.rule_id, len(e.transaction_ids), e.timestamp),
        )

    @apply.register
    def _(self, e: CategoryBook.RuleRunUndone, curs: Cursor[Any]) -> None:
        curs.execute(f"UPDATE {self.schema}.rule_runs SET undone = true WHERE run_id = %s", (e.run_id,))  # noqa: S608

    def _insert(
        self, curs: Cursor[Any], household: Any, name: str, parent: str | None, kind: str, *, builtin: bool
    ) -> None:
        curs.execute(
            f"INSERT INTO {self.schema}.categories VALUES (%s, %s, %s, %s, false, %s)",  # noqa: S608
            (household, name, parent, kind, builtin),
        )

    def _household(self, curs: Cursor[Any], e: Any) -> Any:
        curs.execute(
            f"SELECT household_id FROM {self.schema}.books WHERE book_id = %s",  # noqa: S608
            (e.originator_id,),
        )
        row = curs.fetchone()
        if row is None:
            raise LookupError(f"category book {e.originator_id} is not in the read model")
        return row[0]

    def _repoint(self, curs: Cursor[Any], household: Any, old: str, new: str) -> None:
        curs.execute(
            f"UPDATE {self.schema}.categories SET parent = %s WHERE household_id = %s AND parent = %s",  # noqa: S608
            (new, household, old),
        )
        curs.execute(
            f"UPDATE {self.schema}.rules"  # noqa: S608
            " SET body = jsonb_set(body, '{actions,set_category}', to_jsonb(%s::text))"
            " WHERE household_id = %s AND lower(body->'actions'->>'set_category') = lower(%s)",
            (new, household, old),
        )
