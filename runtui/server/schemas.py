"""The OpenAPI declarations: response schemas from the read models themselves (msgspec), the
problem+json error responses every operation can give, the bearer security scheme, links.

The schemas msgspec generates are collected here and merged into the document's
`components.schemas` by `install`, so `$ref`s resolve where OpenAPI expects them.
"""

from __future__ import annotations

import inspect
from typing import Any

import msgspec
from fastapi import FastAPI

REF = "#/components/schemas/{name}"
PROBLEM = "application/problem+json"
_components: dict[str, Any] = {}

#: RFC 9457 problem details, as every error response of this API carries them.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error, as RFC 9457 problem details; extra members depend on the error.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Every invalid parameter (422 for bad parameters).",
            "items": {"type": "object"},
        },
        "field": {"type": ["string", "null"]},
        "line": {"type": ["integer", "null"], "description": "Workflow errors: the line."},
        "source": {"type": ["string", "null"]},
        "first_decision": {
            "type": "string",
            "description": "409 on an approval: the decision that came first.",
        },
    },
    "additionalProperties": True,
}

_WHY: dict[int, str] = {
    401: "No valid bearer token.",
    403: "The Host header is not one this server answers to.",
    404: "An unknown id.",
    405: "The method is not allowed here.",
    409: "Conflicts with the current state (e.g. an approval decided before, an active run).",
    413: "The request body is over the server's limit (the connection is closed).",
    415: "The request body is not application/json.",
    422: "Invalid parameters or body.",
    503: "Not ready.",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """problem+json response declarations for `codes`."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {
            "description": _WHY[code],
            "content": {PROBLEM: {"schema": {"$ref": REF.format(name="Problem")}}},
        }
        if code == 401:
            entry["headers"] = {
                "WWW-Authenticate": {
                    "description": "`Bearer`",
                    "required": True,
                    "schema": {"type": "string"},
                }
            }
        out[code] = entry
    return out


def _clean_descriptions(node: Any) -> None:
    """Docstring descriptions dedented here, not by msgspec: msgspec 0.23 began to dedent them
    itself, and the committed document must not change with the library's version."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                node[key] = inspect.cleandoc(value)
            else:
                _clean_descriptions(value)
    elif isinstance(node, list):
        for item in node:
            _clean_descriptions(item)


def schema_of(model: Any) -> dict[str, Any]:
    (schema,), components = msgspec.json.schema_components([model], ref_template=REF)
    _clean_descriptions(components)
    _components.update(components)
    return dict(schema)


def openapi_responses(
    description: str,
    model: Any | None,
    *,
    status: int = 200,
    errors: tuple[int, ...] = (),
    media_type: str = "application/json",
    links: dict[str, Any] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """The success response (schema from msgspec) plus the problem+json `errors`."""
    entry: dict[str, Any] = {"description": description}
    if model is not None:
        entry["content"] = {media_type: {"schema": schema_of(model)}}
    if links:
        entry["links"] = links
    return {status: entry, **problems(*errors)}


def _no_null(param: dict[str, Any]) -> None:
    """An optional parameter is absent or has a value: `null` is not something a query string
    or a header can say (FastAPI declares `X | None` as anyOf [X, null])."""
    schema = param.get("schema", {})
    options = schema.get("anyOf")
    if param.get("required") or not isinstance(options, list):
        return
    rest = [o for o in options if o != {"type": "null"}]
    if len(rest) == 1 and len(rest) < len(options):
        del schema["anyOf"]
        schema.update(rest[0])


def install(app: FastAPI) -> None:
    """Make `app.openapi()` include the msgspec components, the Problem schema and the bearer
    security scheme (required everywhere but the probes that declare `security: []`)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = original()
        components = doc.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.update(_components)
        schemas["Problem"] = PROBLEM_SCHEMA
        for path in doc.get("paths", {}).values():
            for operation in path.values():
                for param in operation.get("parameters", []):
                    _no_null(param)
                responses = operation.get("responses", {})
                if "422" in responses and PROBLEM not in responses["422"].get("content", {}):
                    responses["422"] = problems(422)[422]  # FastAPI's default: ours instead
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)  # 422s are problem+json, declared per operation
        components["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "The server's token: RUNTUI_TOKEN, or the file `runtui serve`"
                " creates (0600) in the user config dir on first start.",
            }
        }
        doc["security"] = [{"bearer": []}]
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
