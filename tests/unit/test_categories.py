"""The category book (tree, renames, merges, archive), rules, and the learned categoriser."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from ledger.categories import DEFAULT_TREE, Actions, CategoryBook, Facts, Rule, Trigger
from ledger.categoriser import Example, NaiveBayes, evaluate
from ledger.errors import (
    ConcurrencyConflictError,
    ConflictError,
    IllegalTransitionError,
    InvalidInputError,
    NotFoundError,
)
from ledger.money import Money
from ledger.posting import EntryKind, entry_postings
from ledger.transaction import Transaction
from ops.sample_data import household_year

HOUSEHOLD = uuid.UUID(int=1)
ACCOUNT = uuid.UUID(int=2)


def book() -> CategoryBook:
    return CategoryBook.open(HOUSEHOLD)


def facts(
    description: str = "", merchant: str | None = None, amount: str = "10", kind: str = "expense"
) -> Facts:
    return Facts(description, merchant, kind, Decimal(amount), ACCOUNT)


def spend(
    description: str = "CARD PAYMENT", merchant: str | None = None, category: str | None = None
) -> Transaction:
    money = Money.of(Decimal("9.99"), "EUR")
    postings = entry_postings(EntryKind.EXPENSE, money, ACCOUNT, category=category)
    return Transaction.record(
        HOUSEHOLD,
        EntryKind.EXPENSE,
        postings,
        dt.date(2026, 1, 1),
        description,
        merchant=merchant,
        category=category,
    )


def test_every_household_starts_with_the_default_tree() -> None:
    b = book()
    assert len(b.categories) == len(DEFAULT_TREE)
    assert b.resolve("GROCERIES").parent == "food"
    assert {c.name for c in b.categories.values() if c.parent is None} >= {
        "income",
        "housing",
        "food",
        "transport",
    }
    assert b.id == CategoryBook.open(HOUSEHOLD).id  # one book per household, by id


def test_books_share_the_built_default_tree_but_not_their_changes() -> None:
    """The default tree is built once (ledger/categories.DEFAULT_CATEGORIES): a change to one
    book reaches neither another book nor a book opened later; a book stored with another
    tree (an older release's) replays that tree."""
    changed, untouched = book(), CategoryBook.open(uuid.uuid4())
    changed.add("Garden", "housing", "expense")
    changed.rename("groceries", "Supermarket")
    for other in (untouched, CategoryBook.open(uuid.uuid4())):
        assert other.resolve("garden") is None
        assert other.resolve("groceries").name == "groceries"
        assert len(other.categories) == len(DEFAULT_TREE)
    older = CategoryBook(
        household_id=uuid.uuid4(), defaults=[["food", None, "expense"], ["bread", "food", "expense"]]
    )
    assert sorted(older.categories) == ["bread", "food"]
    assert older.resolve("bread").builtin


def test_add_nests_two_levels_and_refuses_duplicates() -> None:
    b = book()
    b.add("Garden", "housing", "expense")
    assert b.resolve("garden").parent == "housing"
    with pytest.raises(ConflictError):
        b.add("GARDEN", None, "expense")
    with pytest.raises(InvalidInputError, match="two levels"):
        b.add("Roses", "Garden", "expense")
    with pytest.raises(NotFoundError):
        b.add("Roses", "nowhere", "expense")


def test_rename_and_merge_repoint_names_children_and_rules() -> None:
    b = book()
    rule = Rule(uuid.uuid4(), "Shop", (Trigger("merchant", "contains", "tesco"),), Actions("groceries"))
    b.save_rule(rule)
    b.rename("groceries", "Supermarket")
    assert b.resolve("groceries").name == "Supermarket"  # history recorded as groceries follows
    assert b.rules[rule.id].actions.set_category == "Supermarket"
    b.rename("food", "Eating")
    assert b.resolve("Supermarket").parent == "Eating"
    b.merge("coffee", "Supermarket")
    assert b.resolve("coffee").name == "Supermarket"
    b.rename("Supermarket", "groceries")  # back to the old name: no alias cycle
    assert b.resolve("groceries").name == "groceries"
    assert b.resolve("coffee").name == "groceries"
    assert b.resolve("supermarket").name == "groceries"
    with pytest.raises(ConflictError):
        b.rename("groceries", "rent")
    with pytest.raises(InvalidInputError):
        b.merge("rent", "rent")
    with pytest.raises(NotFoundError):
        b.merge("coffee", "rent")  # merged away: it is not a category any more


def test_archived_categories_take_no_new_transactions() -> None:
    b = book()
    b.archive("books")
    with pytest.raises(IllegalTransitionError, match="archived"):
        b.usable("Books", "expense")
    with pytest.raises(IllegalTransitionError):
        b.archive("books")
    with pytest.raises(IllegalTransitionError):
        b.archive("uncategorised")
    assert b.usable("Brand new", "expense") == "Brand new"  # an unknown name becomes the household's own
    assert b.resolve("brand NEW").parent is None
    assert b.usable("groceries", "expense") == "groceries"


@pytest.mark.parametrize(
    ("trigger", "matching", "other"),
    [
        (Trigger("description", "contains", "netflix"), facts("DD NETFLIX.COM 123"), facts("SPOTIFY")),
        (Trigger("merchant", "equals", "Tesco"), facts(merchant="TESCO"), facts(merchant="TESCO PFS")),
        (
            Trigger("merchant", "starts_with", "tesco"),
            facts(merchant="TESCO PFS"),
            facts(merchant="MY TESCO"),
        ),
        (Trigger("description", "ends_with", "london"), facts("COSTA LONDON"), facts("LONDON COSTA")),
        (Trigger("amount", "gt", "100"), facts(amount="100.01"), facts(amount="100")),
        (Trigger("amount", "lte", "5"), facts(amount="5"), facts(amount="5.01")),
        (Trigger("amount", "equals", "1350"), facts(amount="1350.00"), facts(amount="1350.01")),
        (
            Trigger("account_id", "equals", str(ACCOUNT)),
            facts(),
            Facts("", None, "expense", Decimal(1), HOUSEHOLD),
        ),
        (Trigger("kind", "equals", "income"), facts(kind="income"), facts()),
    ],
)
def test_each_trigger_matches_what_it_says_and_nothing_else(
    trigger: Trigger, matching: Facts, other: Facts
) -> None:
    trigger.check()
    assert trigger.matches(matching)
    assert not trigger.matches(other)


def test_all_or_any_and_first_rule_by_priority() -> None:
    b = book()
    both = (Trigger("merchant", "contains", "amazon"), Trigger("amount", "gt", "50"))
    strict = Rule(uuid.uuid4(), "Big Amazon", both, Actions("electronics"), "all", priority=10)
    loose = Rule(uuid.uuid4(), "Any Amazon", both, Actions("household-goods"), "any", priority=20)
    b.save_rule(loose)
    b.save_rule(strict)
    assert b.first_match(facts(merchant="AMAZON MKTPLACE", amount="80")).name == "Big Amazon"
    assert b.first_match(facts(merchant="AMAZON MKTPLACE", amount="8")).name == "Any Amazon"
    assert b.first_match(facts(merchant="IKEA", amount="80")).name == "Any Amazon"
    assert b.first_match(facts(merchant="IKEA", amount="8")) is None


@pytest.mark.parametrize(
    ("trigger", "actions", "message"),
    [
        (Trigger("amount", "contains", "1"), Actions("fees"), "amount trigger"),
        (Trigger("amount", "gt", "NaN"), Actions("fees"), "not an amount"),
        (Trigger("merchant", "gt", "x"), Actions("fees"), "text trigger"),
        (Trigger("merchant", "contains", "  "), Actions("fees"), "needs a value"),
        (Trigger("account_id", "equals", "nope"), Actions("fees"), "account id"),
        (Trigger("kind", "equals", "gift"), Actions("fees"), "kind trigger"),
        (Trigger("colour", "equals", "red"), Actions("fees"), "no trigger"),
        (Trigger("merchant", "contains", "x"), Actions(), "at least one action"),
    ],
)
def test_malformed_rules_are_refused(trigger: Trigger, actions: Actions, message: str) -> None:
    b = book()
    with pytest.raises(InvalidInputError, match=message):
        b.save_rule(Rule(uuid.uuid4(), "R", (trigger,), actions))
    assert not b.rules


def test_a_rule_naming_an_unknown_or_archived_category_is_refused() -> None:
    b = book()
    b.archive("books")
    for category, error in (("nowhere", NotFoundError), ("books", IllegalTransitionError)):
        with pytest.raises(error):
            b.save_rule(Rule(uuid.uuid4(), "R", (Trigger("merchant", "contains", "x"),), Actions(category)))


def test_applying_and_undoing_a_rule_run_with_provenance() -> None:
    t = spend("COSTA COFFEE 12", "COSTA")
    rule = Rule(
        uuid.uuid4(), "Coffee", (Trigger("merchant", "equals", "costa"),), Actions("coffee", ("daily",), "x")
    )
    run = uuid.uuid4()
    t.apply_rule(rule.id, run, rule.changes_for(t.category, t.tags, t.notes))
    assert (t.category, t.tags, t.notes, t.categorization_source) == ("coffee", ["daily"], "x", "rule")
    assert t.postings[1].account == "expenses:coffee"
    t.edit({"notes": "mine"})  # changed again after the run: the undo keeps it
    restored = t.undo_rule_run(run)
    assert set(restored) == {"category", "tags", "categorization_source", "confidence"}
    assert (t.category, t.tags, t.notes, t.categorization_source) == (None, [], "mine", None)
    assert t.postings[1].account == "expenses:uncategorised"
    assert t.undo_rule_run(run) == {}  # once


def test_the_learned_category_is_marked_with_its_confidence() -> None:
    t = spend("TESCO STORES 1")
    t.categorise_by_model("groceries", 0.91234)
    assert (t.category, t.categorization_source, t.confidence) == ("groceries", "ml", 0.9123)
    t.recategorise("household-goods")
    assert (t.categorization_source, t.confidence) == ("manual", 1.0)
    with pytest.raises(InvalidInputError):
        spend().categorise_by_model("groceries", 1.5)


def test_naive_bayes_learns_merchants_and_words() -> None:
    model = NaiveBayes(
        [
            Example(
                "CARD PAYMENT TO TESCO STORES 1234", "TESCO STORES", "expense", Decimal("40"), "groceries"
            ),
            Example("TESCO STORES 99 LEEDS", "TESCO STORES", "expense", Decimal("12"), "groceries"),
            Example("DD NETFLIX.COM", "NETFLIX.COM", "expense", Decimal("10.99"), "streaming"),
            Example("BGC ACME LTD PAYROLL", "ACME LTD PAYROLL", "income", Decimal("2500"), "salary"),
        ]
    )
    best = model.suggest(Example("POS TESCO STORES 555", "Tesco Stores", "expense", Decimal("20")))[0]
    assert best.category == "groceries"
    assert best.confidence > 0.8
    assert model.suggest(Example("ACME LTD PAYROLL NOV", None, "income", None))[0].category == "salary"
    assert NaiveBayes([]).suggest(Example("x", None, "expense", None)) == []


def test_the_categoriser_on_a_held_out_quarter_of_a_generated_year() -> None:
    """The figure the note reports: train on the first 80 % (by date), test on the rest."""
    year = household_year(seed=7)
    examples = [Example(t.description, t.merchant, t.kind, t.amount, t.category) for t in year]
    cut = int(len(examples) * 0.8)
    result = evaluate(examples[:cut], examples[cut:], threshold=0.7)
    assert result.tested_on > 100
    assert result.accuracy >= 0.85
    assert result.precision_at_threshold >= result.accuracy  # confident answers are the better ones


def test_a_read_only_book_refuses_to_add_a_name_as_a_conflict_and_stays_unchanged() -> None:
    b = book()
    b.collect_events()
    with pytest.raises(ConcurrencyConflictError):
        b.usable("Bees", "expense", may_add=False)
    assert b.pending_events == [] and b.resolve("Bees") is None
    assert b.usable("Groceries", "expense", may_add=False) == "groceries"
    assert b.adds("Bees") and not b.adds("groceries") and not b.adds(None)
