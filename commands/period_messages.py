"""Command messages of period closes: close the books through a day, reopen the last close."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from commands.messages import Command

WhyText = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class ClosePeriod(Command, kw_only=True):
    """Close the books through ``through`` (inclusive)."""

    through: dt.date


class ReopenPeriod(Command, kw_only=True):
    """Take back the latest close, and say why."""

    reason: WhyText
