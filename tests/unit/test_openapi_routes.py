"""Every served route is documented in the OpenAPI document (no hidden endpoints)."""

from __future__ import annotations

import re

import pytest

from api.app import create_app
from ops.settings import Settings

UNDOCUMENTED_BY_DESIGN = {"OPTIONS", "HEAD"}


@pytest.mark.reliability
def test_every_route_is_in_the_openapi_document() -> None:
    settings = Settings(jwt_secret="unit-test-secret-0123456789-abcdefghijklmnop")
    app = create_app(settings, conninfo="postgresql://unused@127.0.0.1:1/unused")  # not started
    served = {
        (method, re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path))
        for route in app.routes
        if not route.path.startswith("/schema")
        for method in getattr(route, "methods", set()) - UNDOCUMENTED_BY_DESIGN
    }
    document = app.openapi_schema.to_schema()
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "options"
    }
    assert served, "the app serves routes"
    assert served == documented
