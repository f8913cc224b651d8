"""The API's answers that are not domain read models: the stream's `Resync` marker, a
submission's id. (What a rewind keeps is the domain's `RewindPlan`, on the wire as it is.)"""

from __future__ import annotations

import msgspec

from runtui.domain.feed import Resync
from runtui.domain.rewind import RewindPlan

__all__ = ["Position", "Resync", "Retried", "RewindPlan", "Submitted"]


class Submitted(msgspec.Struct):
    """`POST /api/runs`: the new run's id."""

    run_id: str


class Retried(msgspec.Struct):
    """`POST /api/runs/{id}/retry`: the fork's id."""

    run_id: str
    new_run_id: str


class Position(msgspec.Struct):
    """`GET /api/events/position`: where "now" is in the all-runs stream."""

    position: int
