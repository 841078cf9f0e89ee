"""Query-side dependency: honour a consistency token (header or ``?after=``) with a bounded wait."""

from __future__ import annotations

import time
from typing import Annotated

from litestar.params import HeaderParameter, QueryParameter

from api.responses import CONSISTENCY_HEADER, consistency_token
from api.services import Services
from queries.consistency import wait_for

TokenHeader = Annotated[
    str | None,
    HeaderParameter(
        name=CONSISTENCY_HEADER,
        required=False,
        pattern=r"^[0-9]{1,18}$",
        description="Position returned by a command: wait (at most a few seconds) until it is visible.",
    ),
]
TokenQuery = Annotated[
    str | None,
    QueryParameter(
        name="after",
        required=False,
        pattern=r"^[0-9]{1,18}$",
        description="Same as the X-Consistency-Token header.",
    ),
]


def read_after(
    services: Services,
    schemas: tuple[str, ...],
    header: str | None,
    query: str | None,
    *,
    search: bool = False,
) -> None:
    """Wait until the read models in ``schemas`` have the token's position; with ``search``,
    also until the configured search backend has it (the Elasticsearch index follows the
    transactions read model), within the same wait budget."""
    token = consistency_token(header if header is not None else query)
    budget = services.settings.consistency_wait
    deadline = time.monotonic() + budget
    wait_for(services.reads, schemas, token, budget)
    if search:
        services.search.wait_for(token, max(deadline - time.monotonic(), 0.0))
