"""The household's category book: its category tree and its categorisation rules.

One ``CategoryBook`` aggregate per household (its id derives from the household's id).
Transactions name their category as text; the book maps that text to today's category,
so a rename or a merge is one event that re-points history in the read models, and no
transaction's past events are rewritten.

Rules work in the manner of Firefly III: triggers on description, merchant, amount,
account and kind (all must match, or any), actions that set the category, add tags or
set notes. Rules are tried in priority order; the first that matches applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.errors import (
    ConcurrencyConflictError,
    ConflictError,
    IllegalTransitionError,
    InvalidInputError,
    NotFoundError,
)
from ledger.posting import UNCATEGORISED
from ledger.transaction import check_category, check_tags
from ledger.transaction import check_text as check_field

CategoryKind = Literal["expense", "income"]

# (name, parent, kind): the tree every household starts with.
DEFAULT_TREE: tuple[tuple[str, str | None, CategoryKind], ...] = (
    ("income", None, "income"),
    *((n, "income", "income") for n in ("salary", "bonus", "interest", "refunds", "other-income")),
    ("housing", None, "expense"),
    *((n, "housing", "expense") for n in ("rent", "mortgage", "utilities", "maintenance")),
    ("food", None, "expense"),
    *((n, "food", "expense") for n in ("groceries", "restaurants", "coffee", "takeaway")),
    ("transport", None, "expense"),
    *((n, "transport", "expense") for n in ("fuel", "public-transport", "taxi", "parking", "car")),
    ("health", None, "expense"),
    *((n, "health", "expense") for n in ("pharmacy", "doctor", "dentist", "fitness")),
    ("leisure", None, "expense"),
    *((n, "leisure", "expense") for n in ("entertainment", "streaming", "travel", "hobbies", "books")),
    ("shopping", None, "expense"),
    *((n, "shopping", "expense") for n in ("clothing", "electronics", "household-goods")),
    ("bills", None, "expense"),
    *((n, "bills", "expense") for n in ("phone", "internet", "insurance")),
    ("family", None, "expense"),
    *((n, "family", "expense") for n in ("childcare", "education", "pets")),
    ("giving", None, "expense"),
    *((n, "giving", "expense") for n in ("gifts", "charity")),
    ("finance", None, "expense"),
    *((n, "finance", "expense") for n in ("fees", "taxes", "savings")),
    (UNCATEGORISED, None, "expense"),
)

MAX_CATEGORIES = 500
MAX_RULES = 200
MAX_TRIGGERS = 10

TEXT_FIELDS = ("description", "merchant")
TEXT_OPS = ("contains", "equals", "starts_with", "ends_with")
AMOUNT_OPS = ("equals", "gt", "gte", "lt", "lte")


def key(name: str) -> str:
    """Category names compare without case."""
    return name.casefold()


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    parent: str | None
    kind: CategoryKind
    archived: bool = False
    builtin: bool = False


@dataclass(frozen=True, slots=True)
class Facts:
    """The facts a rule's triggers test (amount positive, in the account's currency)."""

    description: str
    merchant: str | None
    kind: str
    amount: Decimal
    account_id: UUID


@dataclass(frozen=True, slots=True)
class Trigger:
    field: str  # description, merchant, amount, account_id, kind
    op: str
    value: str

    def check(self) -> Trigger:
        if self.field in TEXT_FIELDS:
            self._check_text()
        elif self.field == "amount":
            self._check_amount()
        elif self.field == "account_id":
            if self.op != "equals":
                raise InvalidInputError("an account trigger's op is equals")
            try:
                UUID(self.value)
            except ValueError:
                raise InvalidInputError(f"{self.value!r} is not an account id") from None
        elif self.field == "kind":
            if self.op != "equals" or self.value not in ("expense", "income", "transfer"):
                raise InvalidInputError("a kind trigger equals expense, income or transfer")
        else:
            raise InvalidInputError(f"no trigger on {self.field!r}")
        return self

    def _check_text(self) -> None:
        if self.op not in TEXT_OPS:
            raise InvalidInputError(f"a text trigger's op is one of {', '.join(TEXT_OPS)}")
        if not (check_field("trigger value", self.value) or "").strip():
            raise InvalidInputError("a text trigger needs a value")

    def _check_amount(self) -> None:
        if self.op not in AMOUNT_OPS:
            raise InvalidInputError(f"an amount trigger's op is one of {', '.join(AMOUNT_OPS)}")
        try:
            if not Decimal(self.value).is_finite():
                raise InvalidOperation
        except InvalidOperation:
            raise InvalidInputError(f"{self.value!r} is not an amount") from None

    def matches(self, facts: Facts) -> bool:
        if self.field in TEXT_FIELDS:
            text = (getattr(facts, self.field) or "").casefold()
            wanted = self.value.casefold()
            return {
                "contains": wanted in text,
                "equals": text == wanted,
                "starts_with": text.startswith(wanted),
                "ends_with": text.endswith(wanted),
            }[self.op]
        if self.field == "amount":
            limit = Decimal(self.value)
            return {
                "equals": facts.amount == limit,
                "gt": facts.amount > limit,
                "gte": facts.amount >= limit,
                "lt": facts.amount < limit,
                "lte": facts.amount <= limit,
            }[self.op]
        if self.field == "account_id":
            return str(facts.account_id) == str(UUID(self.value))
        return facts.kind == self.value


@dataclass(frozen=True, slots=True)
class Actions:
    set_category: str | None = None
    add_tags: tuple[str, ...] = ()
    set_notes: str | None = None

    def check(self) -> Actions:
        if self.set_category is None and not self.add_tags and self.set_notes is None:
            raise InvalidInputError("a rule needs at least one action")
        check_category(self.set_category)
        check_tags(list(self.add_tags))
        check_field("notes", self.set_notes, 5000)
        return self


@dataclass(frozen=True, slots=True)
class Rule:
    id: UUID
    name: str
    triggers: tuple[Trigger, ...]
    actions: Actions
    match: Literal["all", "any"] = "all"
    priority: int = 100
    active: bool = True

    def matches(self, facts: Facts) -> bool:
        hits = (t.matches(facts) for t in self.triggers)
        return all(hits) if self.match == "all" else any(hits)

    def changes_for(self, category: str | None, tags: list[str], notes: str | None) -> dict[str, Any]:
        """What applying the rule would change on a transaction with these fields: field ->
        [before, after], only for fields that really change."""
        changes: dict[str, Any] = {}
        if self.actions.set_category is not None and self.actions.set_category != category:
            changes["category"] = [category, self.actions.set_category]
        if self.actions.add_tags:
            merged = sorted(set(tags) | set(self.actions.add_tags))
            if merged != sorted(tags):
                changes["tags"] = [list(tags), merged]
        if self.actions.set_notes is not None and self.actions.set_notes != notes:
            changes["notes"] = [notes, self.actions.set_notes]
        return changes

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "triggers": [[t.field, t.op, t.value] for t in self.triggers],
            "actions": {
                "set_category": self.actions.set_category,
                "add_tags": list(self.actions.add_tags),
                "set_notes": self.actions.set_notes,
            },
            "match": self.match,
            "priority": self.priority,
            "active": self.active,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        actions = data["actions"]
        return cls(
            id=UUID(str(data["id"])),
            name=data["name"],
            triggers=tuple(Trigger(f, o, v) for f, o, v in data["triggers"]),
            actions=Actions(actions["set_category"], tuple(actions["add_tags"]), actions["set_notes"]),
            match=data["match"],
            priority=int(data["priority"]),
            active=bool(data["active"]),
        )

    def check(self) -> Rule:
        name = (check_field("name", self.name) or "").strip()
        if not name or len(name) > 100:
            raise InvalidInputError("a rule's name has 1 to 100 characters")
        if not 1 <= len(self.triggers) <= MAX_TRIGGERS:
            raise InvalidInputError(f"a rule has 1 to {MAX_TRIGGERS} triggers")
        if self.match not in ("all", "any"):
            raise InvalidInputError("match is all or any")
        for trigger in self.triggers:
            trigger.check()
        self.actions.check()
        return self


def _built(defaults: list[list[Any]]) -> dict[str, Category]:
    return {key(name): Category(name, parent, kind, builtin=True) for name, parent, kind in defaults}


DEFAULT_LISTS = [list(c) for c in DEFAULT_TREE]
DEFAULT_CATEGORIES = _built(DEFAULT_LISTS)


def builtin_categories(defaults: list[list[Any]]) -> dict[str, Category]:
    """The categories a book opens with. Every command on a household without a stored book
    opens one (commands/absence.py), so the usual tree is built once (Category is frozen)."""
    return dict(DEFAULT_CATEGORIES) if defaults == DEFAULT_LISTS else _built(defaults)


class CategoryBook(Aggregate):
    """A household's categories (a tree of two levels), aliases of renamed or merged
    categories, rules, and the runs of rules over past transactions."""

    @staticmethod
    def create_id(household_id: UUID) -> UUID:
        return book_id(household_id)

    @classmethod
    def open(cls, household_id: UUID) -> CategoryBook:
        return cls(household_id=household_id, defaults=[list(c) for c in DEFAULT_TREE])

    @event("Opened")
    def __init__(self, household_id: UUID, defaults: list[list[Any]]) -> None:
        self.household_id = household_id
        self.categories = builtin_categories(defaults)
        self.aliases: dict[str, str] = {}  # key of a former name -> key it now means
        self.rules: dict[UUID, Rule] = {}
        self.runs: dict[UUID, tuple[UUID, list[UUID], bool]] = {}  # run -> rule, transactions, undone

    # --- categories -------------------------------------------------------------------

    def resolve(self, name: str | None) -> Category | None:
        """Today's category for a name a transaction carries (following renames and
        merges), or None if the book does not know it."""
        if name is None:
            return None
        k = key(name)
        for _ in range(len(self.aliases) + 1):
            if k in self.categories:
                return self.categories[k]
            if k not in self.aliases:
                return None
            k = self.aliases[k]
        return None

    def adds(self, name: str | None) -> bool:
        """Whether :meth:`usable` would add this name as a new category (change the book)."""
        checked = check_category(name)
        return checked is not None and self.resolve(checked) is None

    def usable(self, name: str | None, kind: str, *, may_add: bool = True) -> str | None:
        """The canonical name to record under, adding an unknown name as the household's
        own category; an archived category is refused. ``may_add=False`` (a book shared
        with other threads, read only): a name it no longer knows (another process changed
        the book in between) is a conflict, for the caller to try again on a copy."""
        checked = check_category(name)
        if checked is None:
            return None
        found = self.resolve(checked)
        if found is None:
            if not may_add:
                raise ConcurrencyConflictError("the category book changed while it was read; try again")
            self.add(checked, None, "income" if kind == "income" else "expense")
            return checked
        if found.archived:
            raise IllegalTransitionError(f"category {found.name!r} is archived")
        return found.name

    def add(self, name: str, parent: str | None, kind: str) -> None:
        name = check_category(name) or ""
        if self.resolve(name) is not None or key(name) in self.aliases:
            raise ConflictError(f"category {name!r} exists already")
        if kind not in ("expense", "income"):
            raise InvalidInputError("a category's kind is expense or income")
        if parent is not None:
            found = self.resolve(parent)
            if found is None:
                raise NotFoundError(f"no category {parent!r}")
            if found.parent is not None:
                raise InvalidInputError("categories nest two levels deep: the parent must be a group")
            parent = found.name
        if len(self.categories) >= MAX_CATEGORIES:
            raise InvalidInputError(f"a household has at most {MAX_CATEGORIES} categories")
        self._added(name, parent, kind)

    @event("Added")
    def _added(self, name: str, parent: str | None, kind: str) -> None:
        self.categories[key(name)] = Category(name, parent, "income" if kind == "income" else "expense")
        self.aliases.pop(key(name), None)

    def _existing(self, name: str) -> Category:
        found = self.categories.get(key(name))
        if found is None:
            raise NotFoundError(f"no category {name!r}")
        return found

    def rename(self, name: str, new_name: str) -> None:
        old = self._existing(name)
        new_name = check_category(new_name) or ""
        taken = self.resolve(new_name)
        if taken is not None and taken is not old:
            raise ConflictError(f"category {new_name!r} exists already")
        if new_name == old.name:
            raise InvalidInputError("the category has that name already")
        self._renamed(old.name, new_name, self.household_id)

    @event("Renamed")
    def _renamed(self, old: str, new: str, household_id: UUID) -> None:
        category = self.categories.pop(key(old))
        self._repoint(old, new)
        self.categories[key(new)] = Category(new, category.parent, category.kind, category.archived)

    def merge(self, name: str, into: str) -> None:
        """Everything in ``name`` moves to ``into``; ``name`` is gone afterwards."""
        source = self._existing(name)
        target = self._existing(into)
        if source is target:
            raise InvalidInputError("a category cannot be merged into itself")
        if target.archived:
            raise IllegalTransitionError(f"category {target.name!r} is archived")
        if target.parent is not None and any(c.parent == source.name for c in self.categories.values()):
            raise InvalidInputError("a group with subcategories merges into another group")
        self._merged(source.name, target.name, self.household_id)

    @event("Merged")
    def _merged(self, source: str, into: str, household_id: UUID) -> None:
        del self.categories[key(source)]
        self._repoint(source, into)

    def _repoint(self, old: str, new: str) -> None:
        """After ``old`` became ``new``: aliases, children and rules follow."""
        self.aliases.pop(key(new), None)
        for former, target in list(self.aliases.items()):
            if target == key(old):
                self.aliases[former] = key(new)
        if key(old) != key(new):
            self.aliases[key(old)] = key(new)
        for k, child in list(self.categories.items()):
            if child.parent == old:
                self.categories[k] = Category(child.name, new, child.kind, child.archived, child.builtin)
        for rule_id, rule in list(self.rules.items()):
            if rule.actions.set_category is not None and key(rule.actions.set_category) == key(old):
                actions = Actions(new, rule.actions.add_tags, rule.actions.set_notes)
                self.rules[rule_id] = Rule(
                    rule.id, rule.name, rule.triggers, actions, rule.match, rule.priority, rule.active
                )

    def archive(self, name: str) -> None:
        """An archived category keeps its history but takes no new transactions."""
        category = self._existing(name)
        if category.archived:
            raise IllegalTransitionError(f"category {category.name!r} is archived already")
        if key(category.name) == key(UNCATEGORISED):
            raise IllegalTransitionError(f"{UNCATEGORISED!r} cannot be archived")
        self._archived(category.name)

    @event("Archived")
    def _archived(self, name: str) -> None:
        c = self.categories[key(name)]
        self.categories[key(name)] = Category(c.name, c.parent, c.kind, True, c.builtin)

    # --- rules ------------------------------------------------------------------------

    def save_rule(self, rule: Rule) -> None:
        rule.check()
        if rule.id not in self.rules and len(self.rules) >= MAX_RULES:
            raise InvalidInputError(f"a household has at most {MAX_RULES} rules")
        if rule.actions.set_category is not None:
            found = self.resolve(rule.actions.set_category)
            if found is None:
                raise NotFoundError(f"no category {rule.actions.set_category!r}")
            if found.archived:
                raise IllegalTransitionError(f"category {found.name!r} is archived")
            actions = Actions(found.name, rule.actions.add_tags, rule.actions.set_notes)
            rule = Rule(
                rule.id, rule.name.strip(), rule.triggers, actions, rule.match, rule.priority, rule.active
            )
        self._rule_saved(rule.as_dict())

    @event("RuleSaved")
    def _rule_saved(self, rule: dict[str, Any]) -> None:
        saved = Rule.from_dict(rule)
        self.rules[saved.id] = saved

    def rule(self, rule_id: UUID) -> Rule:
        if rule_id not in self.rules:
            raise NotFoundError(f"no rule {rule_id}")
        return self.rules[rule_id]

    def delete_rule(self, rule_id: UUID) -> None:
        self.rule(rule_id)
        self._rule_deleted(rule_id)

    @event("RuleDeleted")
    def _rule_deleted(self, rule_id: UUID) -> None:
        del self.rules[rule_id]

    def first_match(self, facts: Facts) -> Rule | None:
        """The first active rule (by priority, then name) whose triggers match."""
        for rule in sorted(self.rules.values(), key=lambda r: (r.priority, r.name, str(r.id))):
            if rule.active and rule.matches(facts):
                return rule
        return None

    def record_run(self, run_id: UUID, rule_id: UUID, transaction_ids: list[UUID]) -> None:
        self.rule(rule_id)
        if run_id in self.runs:
            raise ConflictError(f"rule run {run_id} exists already")
        self._run_recorded(run_id, rule_id, transaction_ids)

    @event("RuleRun")
    def _run_recorded(self, run_id: UUID, rule_id: UUID, transaction_ids: list[UUID]) -> None:
        self.runs[run_id] = (rule_id, list(transaction_ids), False)

    def undo_run(self, run_id: UUID) -> list[UUID]:
        if run_id not in self.runs:
            raise NotFoundError(f"no rule run {run_id}")
        _, transaction_ids, undone = self.runs[run_id]
        if undone:
            raise IllegalTransitionError(f"rule run {run_id} is undone already")
        self._run_undone(run_id)
        return transaction_ids

    @event("RuleRunUndone")
    def _run_undone(self, run_id: UUID) -> None:
        rule_id, transaction_ids, _ = self.runs[run_id]
        self.runs[run_id] = (rule_id, transaction_ids, True)


def book_id(household_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"fiscaflow:categories:{household_id}")
