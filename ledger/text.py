"""Text that the ledger accepts: printable Unicode, bounded in length.

Control characters (NUL above all, which PostgreSQL text cannot hold) and lone surrogates
(which cannot be encoded) are refused up front, so that no stored event can break a
projection later.
"""

from __future__ import annotations

import unicodedata

from ledger.errors import InvalidInputError

MULTILINE_ALLOWED = frozenset("\n\t")


def check_text(name: str, value: str | None, limit: int, *, multiline: bool = False) -> str | None:
    """Return the value if it is acceptable text of at most ``limit`` characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be text")
    if len(value) > limit:
        raise InvalidInputError(f"{name} has at most {limit} characters")
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") and not (multiline and char in MULTILINE_ALLOWED):
            raise InvalidInputError(f"{name} contains a control character or an invalid code point")
    return value
