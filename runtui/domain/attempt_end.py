"""Who or what ended an attempt, in a few plain words, from what its row records.

An attempt's row keeps its final status, its exit code and the error its operator (or the
runtime) gave. The wording of those errors is the runtime's own: `exit code 3`, `killed by signal
SIGKILL`, `timed out after 5s`, `interrupted: the runtime stopped while it ran` (closed when
another process resumed the run), `cancelled` (the run was stopping). This reads them back as
what an operator asks first: did the program exit, was it killed, did time run out, did someone
stop it, was it lost in a restart. For a cancelled attempt the run's termination reason says
who stopped the run.
"""

from __future__ import annotations

from runtui.domain.tasks import AttemptStatus
from runtui.domain.termination import RunTerminationReason
from runtui.domain.views import AttemptRow

#: The error of an attempt closed because the process that ran it stopped (`actors/resume.py`).
INTERRUPTED_ERROR = "interrupted: the runtime stopped while it ran"
#: How the error of a task that is not run again after repeated restarts begins.
QUARANTINED_PREFIX = "quarantined:"

#: What stopped a run, for its attempts that were cancelled while it stopped.
_RUN_STOPPED_BY: dict[RunTerminationReason, str] = {
    RunTerminationReason.USER_ABORT: "cancel (by a user)",
    RunTerminationReason.TIMEOUT: "run timeout",
    RunTerminationReason.POLICY_BLOCK: "run stopped by a policy",
    RunTerminationReason.BUDGET_EXCEEDED: "run stopped: budget",
    RunTerminationReason.RATE_LIMITED: "run stopped: rate limit",
    RunTerminationReason.TASK_FAILED: "run stopped: a task failed",
    RunTerminationReason.APPROVAL_REJECTED: "run stopped: rejected",
    RunTerminationReason.SYSTEM_FAILURE: "run stopped: system failure",
}


def ended_by(attempt: AttemptRow, run_reason: RunTerminationReason | None = None) -> str:
    """`exit code 3`, `timeout after 5s`, `killed (SIGKILL)`, `lost on restart`, `cancel (by a
    user)`, ...; `—` while the attempt has not ended."""
    status = AttemptStatus(attempt.status)
    if not status.is_final:
        return "—"
    error = (attempt.error or "").strip()
    if status is AttemptStatus.COMPLETED:
        return "exit code 0" if attempt.exit_code == 0 else "completed"
    if error.startswith(INTERRUPTED_ERROR):
        return "lost on restart"
    if error.startswith(QUARANTINED_PREFIX):
        return "lost on restart (quarantined)"
    if "timed out after " in error:
        return "timeout after " + error.split("timed out after ", 1)[1].split()[0]
    if error.startswith("killed by signal "):
        return f"killed ({error.removeprefix('killed by signal ')})"
    if status is AttemptStatus.CANCELLED:
        stopped = _RUN_STOPPED_BY.get(run_reason) if run_reason is not None else None
        return stopped or "cancelled: the run stopped"
    if attempt.exit_code is not None and error.startswith("exit code "):
        return f"exit code {attempt.exit_code}"
    if status is AttemptStatus.FAILED_INIT:
        return "could not start"
    if attempt.exit_code is not None:
        return f"exit code {attempt.exit_code}"
    return "error"
