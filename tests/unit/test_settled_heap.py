"""A serving process settles its heap once it has started (ops/serving.settle_heap)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from ops.serving import GC_THRESHOLDS, served


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process goes on collecting everything
    gc.set_threshold(*thresholds)


@get("/")
async def home() -> str:
    return "ok"


def test_a_served_app_freezes_what_it_holds_once_started(collector: None) -> None:
    held = {"a long-lived object": [1, 2, 3]}
    app = served(Litestar([home]))
    assert gc.get_freeze_count() == 0  # nothing happens before the app starts
    with TestClient(app) as client:
        assert client.get("/").text == "ok"
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold() == GC_THRESHOLDS
        assert any(o is held for o in gc.get_objects()) is False  # frozen: not tracked by collections
