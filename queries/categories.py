"""Queries over the categories read model: the tree, the rules and the rule runs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.categories import DEFAULT_TREE
from ledger.errors import NotFoundError
from queries.db import CATEGORIES_SCHEMA, ReadStore
from queries.views import ActionsView, CategoryView, RuleRunView, RuleView, TriggerView

S = CATEGORIES_SCHEMA


def list_categories(store: ReadStore, household_id: UUID, *, archived: bool = True) -> list[CategoryView]:
    """The household's tree, groups first then their children, by name; a household
    that never changed its categories has the default tree."""
    with store.cursor() as curs:
        curs.execute(f"SELECT 1 FROM {S}.books WHERE household_id = %s", (household_id,))  # noqa: S608
        if curs.fetchone() is None:
            return [
                CategoryView(name=n, parent=p, kind=k, archived=False, builtin=True)
                for n, p, k in sorted(DEFAULT_TREE, key=lambda c: (c[1] or c[0], c[1] is not None, c[0]))
            ]
        curs.execute(
            f"SELECT * FROM {S}.categories WHERE household_id = %s"  # noqa: S608
            " AND (%s OR NOT archived) ORDER BY coalesce(parent, name), parent IS NOT NULL, name",
            (household_id, archived),
        )
        return [
            CategoryView(
                name=r["name"],
                parent=r["parent"],
                kind=r["kind"],
                archived=r["archived"],
                builtin=r["builtin"],
            )
            for r in curs.fetchall()
        ]


def rule_view(body: dict[str, Any]) -> RuleView:
    actions = body["actions"]
    return RuleView(
        id=UUID(body["id"]),
        name=body["name"],
        triggers=[TriggerView(field=f, op=o, value=v) for f, o, v in body["triggers"]],
        actions=ActionsView(
            set_category=actions["set_category"], add_tags=actions["add_tags"], set_notes=actions["set_notes"]
        ),
        match=body["match"],
        priority=body["priority"],
        active=body["active"],
    )


def list_rules(store: ReadStore, household_id: UUID) -> list[RuleView]:
    """Rules in the order they are tried: priority, then name."""
    with store.cursor() as curs:
        curs.execute(
            f"SELECT body FROM {S}.rules WHERE household_id = %s"  # noqa: S608
            " ORDER BY (body->>'priority')::int, body->>'name', rule_id",
            (household_id,),
        )
        return [rule_view(r["body"]) for r in curs.fetchall()]


def get_rule(store: ReadStore, household_id: UUID, rule_id: UUID) -> RuleView:
    with store.cursor() as curs:
        curs.execute(
            f"SELECT body FROM {S}.rules WHERE household_id = %s AND rule_id = %s",  # noqa: S608
            (household_id, rule_id),
        )
        row = curs.fetchone()
    if row is None:
        raise NotFoundError(f"no rule {rule_id}")
    return rule_view(row["body"])


def list_runs(store: ReadStore, household_id: UUID, rule_id: UUID | None = None) -> list[RuleRunView]:
    with store.cursor() as curs:
        curs.execute(
            f"SELECT * FROM {S}.rule_runs WHERE household_id = %s"  # noqa: S608
            " AND (%s::uuid IS NULL OR rule_id = %s) ORDER BY ran_at DESC LIMIT 200",
            (household_id, rule_id, rule_id),
        )
        return [
            RuleRunView(
                run_id=r["run_id"],
                rule_id=r["rule_id"],
                transactions=r["transactions"],
                undone=r["undone"],
                ran_at=r["ran_at"],
            )
            for r in curs.fetchall()
        ]
