"""`Idempotency-Key` for the API's mutations: a retried request gets the first answer, also
after the server restarted (the records are in the database: `store.idempotency`).

A mutation calls `claim` right before it acts: the key is then committed before the act, so
that a retry after a crash knows the request may have acted. Its route's `recover` then looks
at the runs to find whether it did (a run submitted with this key, the approval decided as the
request asked, ...) and, if so, answers what the first request would have; if not, the retry
acts. A request that fails leaves no record: its retry acts afresh.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

import anyio
from fastapi import Header
from fastapi.responses import Response
from pydantic import BaseModel

from runtui.domain.idempotency import KeyRecord
from runtui.server.host import KeyStore
from runtui.server.security import problem


class Claim(Protocol):
    """Called by a mutation right before it acts (with what it acts on, if a retry must know)."""

    async def __call__(self, subject: str | None = None) -> None: ...


#: A route's way to find, after a crash, whether a request it took acted: its answer if so.
Recover = Callable[[KeyRecord], Awaitable[Response | None]]


async def _unkeyed(subject: str | None = None) -> None:
    pass


def _replayed(response: Response) -> Response:
    response.headers["Idempotent-Replay"] = "true"
    return response


class Idempotency:
    """The first answer to each `Idempotency-Key`, per method and path (kept `RETENTION_S`).
    A key reused with a different body is refused (422); concurrent requests with one key run
    one at a time, so the second gets the first's answer."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self._locks: dict[tuple[str, str], anyio.Lock] = {}

    async def once(
        self,
        key: str | None,
        where: str,
        body: BaseModel | None,
        act: Callable[[Claim], Awaitable[Response]],
        recover: Recover | None = None,
    ) -> Response:
        if key is None:
            return await act(_unkeyed)
        slot = (where, key)
        fingerprint = hashlib.sha256(body.model_dump_json().encode() if body else b"").digest()
        lock = self._locks.setdefault(slot, anyio.Lock())
        try:
            async with lock:
                record = await self.keys.find(where, key)
                if record is not None and record.fingerprint != fingerprint:
                    return problem(
                        422,
                        "Unprocessable Content",
                        "Idempotency-Key: already used for a different request body",
                    )
                if record is not None and record.status is not None:
                    return _replayed(
                        Response(
                            record.body,
                            status_code=record.status,
                            media_type="application/json",
                            headers={"location": record.location} if record.location else None,
                        )
                    )
                first = None
                if record is not None and recover is not None:  # taken, never answered
                    first = await recover(record)
                if first is not None:
                    await self._answer(where, key, fingerprint, first)
                    return _replayed(first)
                return await self._act(where, key, fingerprint, act, stale=record is not None)
        finally:
            if not lock.statistics().tasks_waiting and not lock.locked():
                self._locks.pop(slot, None)

    async def _act(
        self,
        where: str,
        key: str,
        fingerprint: bytes,
        act: Callable[[Claim], Awaitable[Response]],
        *,
        stale: bool,
    ) -> Response:
        claimed = stale  # a record of an earlier try that never acted is this try's to clear

        async def claim(subject: str | None = None) -> None:
            nonlocal claimed
            await self.keys.take(where, key, fingerprint, subject)
            claimed = True

        try:
            response = await act(claim)
        except BaseException:
            if claimed:
                with anyio.CancelScope(shield=True):
                    await self.keys.forget(where, key)
            raise
        if response.status_code < 400:
            await self._answer(where, key, fingerprint, response)
        elif claimed:
            await self.keys.forget(where, key)
        return response

    async def _answer(self, where: str, key: str, fingerprint: bytes, response: Response) -> None:
        await self.keys.answer(
            where,
            key,
            fingerprint,
            status=response.status_code,
            body=bytes(response.body),
            location=response.headers.get("location"),
        )


IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        description="A retried request with the same key (and body) gets the first answer,"
        " with `Idempotent-Replay: true`, for 24 hours, also after a restart.",
    ),
]
