"""The API's answers that are not domain read models: what a rewind keeps (`RewindPlan`), the
stream's `Resync` marker, a submission's id."""

from __future__ import annotations

import msgspec


class RewindPlan(msgspec.Struct, frozen=True):
    """What a rewind keeps and re-executes; the wire form of `actors.runtime.RewindPlan`
    (same fields; a test checks that they stay the same)."""

    run_id: str
    wave: int
    kept: dict[int, list[str]]
    rerun: dict[int, list[str]]
    new_run_id: str | None = None


class Resync(msgspec.Struct, frozen=True):
    """The stream restarted with no position to resume from (it had not yet seen one), so
    events may have been missed: re-read the state instead of trusting the feed."""

    reason: str


class Submitted(msgspec.Struct):
    """`POST /api/runs`: the new run's id."""

    run_id: str
