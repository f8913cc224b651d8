"""Run history: the result buckets and the summary record of the run-history source."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runtui.domain.status import RunStatus


class RunResult(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    STOPPED = "stopped"


#: Only terminal statuses have a result; a live run has none yet.
STATUS_TO_RESULT: Mapping[RunStatus, RunResult] = {
    RunStatus.SUCCEEDED: RunResult.SUCCESS,
    RunStatus.FAILED: RunResult.FAILED,
    RunStatus.FAILED_POLICY: RunResult.FAILED,
    RunStatus.CANCELLED: RunResult.STOPPED,
}


def result_for_status(status: RunStatus) -> RunResult | None:
    return STATUS_TO_RESULT.get(status)


def stages(
    order: Sequence[str], ran: Collection[str], failed: Collection[str]
) -> tuple[list[str], list[str]]:
    """A run's (stages_executed, stages_failed), one definition however the run was driven.

    Executed: the tasks that ran in this run (at least one attempt started in it, before or
    after a restart), in workflow order; not tasks whose results a fork carried over from its
    parent, and not gates (a human decision is not a stage). Failed: those of them that ended
    failed, failures the workflow allows included."""
    executed = [t for t in order if t in ran]
    return executed, [t for t in executed if t in failed]


class RunSummary(BaseModel):
    """One finished run in the run-history format; "stages" are task ids."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    started_at: datetime
    ended_at: datetime
    result: RunResult
    failure_reason: str | None = None
    stages_executed: list[str] = Field(default_factory=list)
    stages_failed: list[str] = Field(default_factory=list)
    retry_count: int = 0
    metadata: dict[str, Any] = Field(default_factory=dict)
