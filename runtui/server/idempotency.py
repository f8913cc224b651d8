"""`Idempotency-Key` for the API's mutations: a retried request gets the first answer."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio
from fastapi import Header
from fastapi.responses import Response
from pydantic import BaseModel

from runtui.server.security import problem


class Idempotency:
    """The first answer to each `Idempotency-Key`, per method and path (bounded: a retry
    within the window). A key reused with a different body is refused (422); concurrent
    requests with one key run one at a time, so the second gets the first's answer."""

    def __init__(self, size: int = 4096) -> None:
        self._seen: OrderedDict[tuple[str, str], tuple[bytes, int, bytes, dict[str, str]]] = (
            OrderedDict()
        )
        self._locks: dict[tuple[str, str], anyio.Lock] = {}
        self._size = size

    async def once(
        self,
        key: str | None,
        where: str,
        body: BaseModel | None,
        action: Callable[[], Awaitable[Response]],
    ) -> Response:
        if key is None:
            return await action()
        slot = (where, key)
        fingerprint = hashlib.sha256(body.model_dump_json().encode() if body else b"").digest()
        lock = self._locks.setdefault(slot, anyio.Lock())
        try:
            async with lock:
                if (seen := self._seen.get(slot)) is not None:
                    first, status, content, headers = seen
                    if first != fingerprint:
                        return problem(
                            422,
                            "Unprocessable Content",
                            "Idempotency-Key: already used for a different request body",
                        )
                    return Response(
                        content,
                        status_code=status,
                        media_type="application/json",
                        headers={**headers, "Idempotent-Replay": "true"},
                    )
                response = await action()
                if response.status_code < 400:
                    kept = {k: v for k, v in response.headers.items() if k in ("location",)}
                    stored = bytes(response.body)
                    self._seen[slot] = (fingerprint, response.status_code, stored, kept)
                    while len(self._seen) > self._size:
                        self._seen.popitem(last=False)
                return response
        finally:
            if not lock.statistics().tasks_waiting and not lock.locked():
                self._locks.pop(slot, None)


IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        description="A retried request with the same key (and body) gets the first answer,"
        " with `Idempotent-Replay: true`.",
    ),
]
