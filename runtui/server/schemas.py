"""OpenAPI response entries whose schemas come from the read models themselves (msgspec).

The schemas msgspec generates are collected here and merged into the document's
`components.schemas` by `install`, so `$ref`s resolve where OpenAPI expects them.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI

REF = "#/components/schemas/{name}"
_components: dict[str, Any] = {}


def openapi_responses(description: str, model: Any | None) -> dict[int | str, dict[str, Any]]:
    if model is None:
        return {200: {"description": description}}
    (schema,), components = msgspec.json.schema_components([model], ref_template=REF)
    _components.update(components)
    return {200: {"description": description, "content": {"application/json": {"schema": schema}}}}


def install(app: FastAPI) -> None:
    """Make `app.openapi()` include the msgspec components."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = original()
        doc.setdefault("components", {}).setdefault("schemas", {}).update(_components)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
