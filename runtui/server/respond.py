"""`js`: a JSON response encoded by msgspec (the read models are msgspec structs; FastAPI's own
encoder would walk them field by field)."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi.responses import Response

_json = msgspec.json.Encoder()


def js(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        _json.encode(value), status_code=status, media_type="application/json", headers=headers
    )
