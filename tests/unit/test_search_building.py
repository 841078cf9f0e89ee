"""What the search backends are asked: search words, the Elasticsearch index template,
documents, queries and cursors (built without a server; the server tests run where
ELASTICSEARCH_URL is set)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from ledger.categories import CategoryBook
from ledger.errors import InvalidInputError
from projections.search_index import CATEGORY_TOPICS, actions, failures, repointed
from projections.transactions.projection import TransactionsProjection
from queries.search_es import (
    ALIAS,
    DATE_ORDER,
    decode_cursor,
    document,
    encode_cursor,
    filters_of,
    index_template,
    search_body,
)
from queries.search_terms import document_words, prefix_tsquery, search_terms
from queries.transactions import TransactionFilter

HOUSEHOLD = uuid.UUID(int=1)
ROW = {
    "household_id": HOUSEHOLD, "transaction_id": uuid.UUID(int=2), "account_ids": [uuid.UUID(int=3)],
    "kind": "expense", "status": "posted", "currency": "EUR", "category": "Coffee",
    "date": dt.date(2026, 11, 3), "recorded_at": dt.datetime(2026, 11, 3, 8, 1, 2, 345678, tzinfo=dt.UTC),
    "amount": Decimal("3.40"), "description": "COSTA COFFEE 123, London", "merchant": "Costa",
    "notes": None,
}  # fmt: skip


def test_search_words_are_lower_cased_prefixes_and_punctuation_is_no_word() -> None:
    assert search_terms("Cof  LOND!") == ["cof", "lond"]
    assert prefix_tsquery(search_terms("it's 12:30")) == "it:* & s:* & 12:* & 30:*"
    assert search_terms("under_score") == ["under", "score"]
    with pytest.raises(InvalidInputError):
        search_terms(" -- !! ")
    assert len(search_terms(" ".join(["w"] * 50))) == 10
    assert document_words("COSTA COFFEE 123, London", None, "Coffee") == [
        "costa",
        "coffee",
        "123",
        "london",
        "coffee",
    ]


def test_the_index_template_is_strict_and_typed_for_exact_filters() -> None:
    template = index_template()
    assert template["index_patterns"] == [f"{ALIAS}-*"]
    mapping = template["template"]["mappings"]
    assert mapping["dynamic"] == "strict"
    fields = mapping["properties"]
    assert fields["category"] == {"type": "keyword", "normalizer": "lower"}
    assert fields["amount"] == {"type": "scaled_float", "scaling_factor": 10000}  # 4 decimals exact
    assert fields["recorded_at"]["type"] == "date_nanos"  # the list's order to the microsecond
    assert set(document(ROW)) == set(fields)


def test_a_document_holds_the_words_and_exact_values() -> None:
    doc = document(ROW)
    assert doc["text"] == "costa coffee 123 london costa coffee"
    assert (doc["amount"], doc["date"], doc["recorded_at"]) == (
        "3.40",
        "2026-11-03",
        "2026-11-03T08:01:02.345678+00:00",
    )
    assert doc["account_ids"] == [str(uuid.UUID(int=3))]


def test_filters_and_words_become_one_bool_query() -> None:
    hidden = [uuid.UUID(int=9)]
    f = TransactionFilter(
        account_id=uuid.UUID(int=3), date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 1, 31),
        category="coffee", kind="expense", min_amount=Decimal("1.5"), text="cof lond",
    )  # fmt: skip
    assert filters_of(HOUSEHOLD, f, hidden) == {
        "bool": {
            "filter": [
                {"term": {"household_id": str(HOUSEHOLD)}},
                {"term": {"account_ids": str(uuid.UUID(int=3))}},
                {"term": {"category": "coffee"}},
                {"term": {"kind": "expense"}},
                {"range": {"date": {"gte": "2026-01-01", "lte": "2026-01-31"}}},
                {"range": {"amount": {"gte": "1.5"}}},
            ],
            "must": [
                {"match_phrase_prefix": {"text": {"query": "cof"}}},
                {"match_phrase_prefix": {"text": {"query": "lond"}}},
            ],
            "must_not": [{"terms": {"account_ids": [str(uuid.UUID(int=9))]}}],
        }
    }
    assert filters_of(HOUSEHOLD, TransactionFilter(), []) == {
        "bool": {"filter": [{"term": {"household_id": str(HOUSEHOLD)}}]}
    }


def test_a_page_asks_one_more_than_the_limit_and_continues_after_the_cursor() -> None:
    body = search_body(HOUSEHOLD, TransactionFilter(text="tea"), [], 25, None, "date")
    assert (body["size"], body["sort"], body["source"]) == (26, DATE_ORDER, False)
    assert "search_after" not in body
    cursor = encode_cursor([1.5, "2026-11-03", 1762156862345678000, "id"])
    ranked = search_body(HOUSEHOLD, TransactionFilter(text="tea"), [], 25, cursor, "relevance")
    assert ranked["sort"][0] == "_score" and ranked["search_after"] == [
        1.5,
        "2026-11-03",
        1762156862345678000,
        "id",
    ]
    for bad in ("%%%", encode_cursor([1]), "bm90IGpzb24="):
        with pytest.raises(InvalidInputError):
            decode_cursor(bad)


def test_indexing_writes_external_versions_and_only_version_conflicts_are_tolerated() -> None:
    (action,) = actions("idx", [ROW], {ROW["transaction_id"]: 41})
    assert (action["_id"], action["version"], action["version_type"]) == (
        str(ROW["transaction_id"]),
        41,
        "external",
    )
    errors = [{"index": {"status": 409, "_id": "a"}}, {"index": {"status": 400, "_id": "b"}}]
    assert failures(errors) == [{"index": {"status": 400, "_id": "b"}}]


def test_a_rename_or_merge_names_the_category_whose_documents_change() -> None:
    book = CategoryBook.open(HOUSEHOLD)
    book.rename("coffee", "Cafe")
    book.merge("groceries", "restaurants")
    book.archive("books")
    opened, renamed, merged, archived = book.collect_events()
    assert repointed(renamed) == (HOUSEHOLD, "Cafe")  # documents now in "Cafe" are written again
    assert repointed(merged) == (HOUSEHOLD, "restaurants")
    assert repointed(opened) is None and repointed(archived) is None  # no transaction changes


def test_the_indexer_follows_every_category_event_the_transactions_read_model_applies() -> None:
    """A category event that changes rows of the read model without a transaction event
    must be one the indexer reads, or the index keeps the old rows."""
    applied = {t for t in TransactionsProjection.topics() if t.startswith("ledger.categories:")}
    assert set(CATEGORY_TOPICS) == applied
