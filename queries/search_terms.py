"""What a search for ``q`` means, the same for every search backend: the words of ``q``
(letters and digits, lower-cased), each the beginning of some word of the transaction's
description, merchant, notes or category, all of them (AND). "cof lond" finds "Costa
Coffee London"."""

from __future__ import annotations

import re

from ledger.errors import InvalidInputError

WORD = re.compile(r"[^\W_]+")
MAX_TERMS = 10


def search_terms(text: str) -> list[str]:
    terms = [word.lower() for word in WORD.findall(text)]
    if not terms:
        raise InvalidInputError("q holds no word to search for (letters or digits)")
    return terms[:MAX_TERMS]


def prefix_tsquery(terms: list[str]) -> str:
    """A PostgreSQL tsquery (for ``to_tsquery('simple', ...)``): every term as a prefix."""
    return " & ".join(f"{term}:*" for term in terms)


def document_words(*texts: str | None) -> list[str]:
    """The words a document can be found by (the oracle of the tests, and ES's ``text``)."""
    return [word.lower() for text in texts if text for word in WORD.findall(text)]
