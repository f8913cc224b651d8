"""`ended_by`: what ended an attempt, in the words an operator asks for, from its row."""

from __future__ import annotations

import pytest

from runtui.domain.attempt_end import INTERRUPTED_ERROR, ended_by
from runtui.domain.termination import RunTerminationReason
from runtui.domain.views import AttemptRow


def row(status: str, *, exit_code: int | None = None, error: str | None = None) -> AttemptRow:
    return AttemptRow("r", "t", 0, status, "r:t:0", None, exit_code, error, None, {}, 1.0, None)


@pytest.mark.parametrize(
    ("attempt", "reason", "said"),
    [
        (row("running"), None, "—"),
        (row("waiting_external"), None, "—"),
        (row("completed", exit_code=0), None, "exit code 0"),
        (row("completed"), None, "completed"),
        (row("failed", exit_code=3, error="exit code 3"), None, "exit code 3"),
        (row("failed", exit_code=-9, error="killed by signal SIGKILL"), None, "killed (SIGKILL)"),
        (row("failed", error="timed out after 5s"), None, "timeout after 5s"),
        (row("failed", error="external job j-1 timed out after 2m"), None, "timeout after 2m"),
        (row("cancelled", error=INTERRUPTED_ERROR), None, "lost on restart"),
        (
            row("failed", error="quarantined: the runtime stopped 3 times while this task ran"),
            None,
            "lost on restart (quarantined)",
        ),
        (
            row("cancelled", error="cancelled"),
            RunTerminationReason.USER_ABORT,
            "cancel (by a user)",
        ),
        (row("cancelled", error="cancelled"), RunTerminationReason.TIMEOUT, "run timeout"),
        (
            row("cancelled", error="run stopped before start"),
            RunTerminationReason.TASK_FAILED,
            "run stopped: a task failed",
        ),
        (row("cancelled", error="cancelled"), None, "cancelled: the run stopped"),
        (row("failed_init", error="FileNotFoundError: sh"), None, "could not start"),
        (row("failed", exit_code=1, error="the python process died: SIGSEGV"), None, "exit code 1"),
        (row("failed", error="ValueError: bad input"), None, "error"),
    ],
)
def test_ended_by(attempt: AttemptRow, reason: RunTerminationReason | None, said: str) -> None:
    assert ended_by(attempt, reason) == said
