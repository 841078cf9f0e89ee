"""The HTTP API (Litestar): command endpoints, query endpoints, errors, OpenAPI."""
