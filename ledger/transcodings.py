"""How domain values are stored inside events: amounts as decimal strings, dates as ISO.

Pure encoding (no I/O): shared by the write side and by projectors that decode events.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    Transcoding,
    UUIDAsHex,
)

from ledger.money import Money
from ledger.personal import Keys, PersonalDataMapper
from ledger.posting import Posting


class MoneyAsDict(Transcoding):
    type = Money
    name = "money"

    def encode(self, obj: Money) -> dict[str, str]:
        return {"amount": str(obj.amount), "currency": obj.currency}

    def decode(self, data: dict[str, str]) -> Money:
        return Money(Decimal(data["amount"]), data["currency"])


class PostingAsDict(Transcoding):
    type = Posting
    name = "posting"

    def encode(self, obj: Posting) -> dict[str, str]:
        return {"account": obj.account, "amount": str(obj.amount.amount), "currency": obj.amount.currency}

    def decode(self, data: dict[str, Any]) -> Posting:
        return Posting(data["account"], Money(Decimal(data["amount"]), data["currency"]))


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def register_all(transcoder: JSONTranscoder) -> None:
    """Register the library's and our own transcodings on a JSON transcoder."""
    transcoder.register(UUIDAsHex())
    transcoder.register(DecimalAsStr())
    transcoder.register(DatetimeAsISO())
    transcoder.register(MoneyAsDict())
    transcoder.register(PostingAsDict())
    transcoder.register(DateAsISO())


def event_mapper(keys: Keys | None = None) -> Mapper[UUID]:
    """A mapper between stored and domain events. With the subjects' keys it reads (and
    stores) personal data; without them personal fields read as erased."""
    transcoder = JSONTranscoder()
    register_all(transcoder)
    return PersonalDataMapper(transcoder, keys)
