"""When a run has settled: nothing more happens to it until a human acts.

One rule for every front end (a command that drives a run and exits, a command watching a run
on a server, `Port.wait`, a Python program): the run has ended, or it waits for an approval and
none of its tasks is under way. A gate in one branch does not stop the others: a run can be
`awaiting_approval` while another branch's task still runs, and that run has not settled.

The rule reads a snapshot; a snapshot taken between two commits can look settled for an
instant (an approval requested, a sibling task not yet started), so a watcher also waits for
`QUIET_S` with no new event of the run before it believes it.
"""

from __future__ import annotations

from collections.abc import Iterable

from runtui.domain.status import RunStatus

#: Task statuses that mean work is under way.
BUSY_TASK_STATUSES = frozenset({"running", "waiting_external"})

#: How long a run must commit nothing before a settled-looking snapshot is believed: longer than
#: one hop between actors (each ends in a commit within milliseconds).
QUIET_S = 0.15


def is_settled(status: RunStatus, task_statuses: Iterable[str]) -> bool:
    """True when the run ended, or waits for a human with no task under way."""
    if status.is_terminal:
        return True
    if status is not RunStatus.AWAITING_APPROVAL:
        return False
    return not any(s in BUSY_TASK_STATUSES for s in task_statuses)
