"""An Idempotency-Key as the API records it (kept by `runtui.store.idempotency`): what the key
was first used with, and the answer once there is one."""

from __future__ import annotations

import msgspec

#: The run metadata field that holds the key of the request that submitted the run.
SUBMITTED_WITH = "idempotency_key"


class KeyRecord(msgspec.Struct, frozen=True):
    """One key as recorded: what it was first used with, and the answer, once there is one."""

    fingerprint: bytes
    taken_at: float
    subject: str | None = None
    status: int | None = None  # None: taken, never answered
    body: bytes | None = None
    location: str | None = None
