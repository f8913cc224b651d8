"""Run health per workflow, from its most recent finished runs (newest first)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import msgspec

from runtui.domain.summary import RunResult

WINDOW = 10
BLOCK_AFTER = 3


class Health(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNSTABLE = "unstable"
    BLOCKED = "blocked"


class WorkflowHealth(msgspec.Struct, frozen=True):
    workflow: str
    health: Health
    reasons: list[str]
    runs_considered: int


def assess(workflow: str, recent: Sequence[RunResult]) -> WorkflowHealth:
    """`recent`: results of the last runs, newest first.

    blocked: the last BLOCK_AFTER runs all failed (new runs are refused until cleared);
    unstable: at least half of the last WINDOW failed; degraded: the latest failed, or any of
    the window did; healthy otherwise. Stopped runs (user cancels) are not failures.
    """
    window = list(recent[:WINDOW])
    failures = [r for r in window if r is RunResult.FAILED]
    reasons: list[str] = []
    if len(window) >= BLOCK_AFTER and all(r is RunResult.FAILED for r in window[:BLOCK_AFTER]):
        reasons.append(f"the last {BLOCK_AFTER} runs failed")
        return WorkflowHealth(workflow, Health.BLOCKED, reasons, len(window))
    if window and len(failures) * 2 >= len(window) and len(window) >= 2:
        reasons.append(f"{len(failures)} of the last {len(window)} runs failed")
        return WorkflowHealth(workflow, Health.UNSTABLE, reasons, len(window))
    if failures:
        latest = "the latest run failed" if window[0] is RunResult.FAILED else None
        reasons.append(latest or f"{len(failures)} of the last {len(window)} runs failed")
        return WorkflowHealth(workflow, Health.DEGRADED, reasons, len(window))
    return WorkflowHealth(workflow, Health.HEALTHY, reasons, len(window))
