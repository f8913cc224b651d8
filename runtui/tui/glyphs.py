"""How statuses look: a glyph that reads without colour, and a colour when there is one."""

from __future__ import annotations

import time
from collections.abc import Iterable

from runtui.domain.status import RunStatus
from runtui.domain.tasks import TaskStatus
from runtui.domain.views import ApprovalRow
from runtui.domain.violations import ViolationSeverity

RUN_GLYPH: dict[RunStatus, tuple[str, str]] = {
    RunStatus.QUEUED: ("·", "$text-muted"),
    RunStatus.RUNNING: ("●", "$accent"),
    RunStatus.AWAITING_APPROVAL: ("⏸", "$warning"),
    RunStatus.PAUSED: ("⏸", "$warning"),
    RunStatus.INTERRUPTED: ("↺", "$warning"),
    RunStatus.RETRY: ("↺", "$warning"),
    RunStatus.SUCCEEDED: ("✓", "$success"),
    RunStatus.FAILED: ("✗", "$error"),
    RunStatus.FAILED_POLICY: ("✗", "$error"),
    RunStatus.CANCELLED: ("⊘", "$text-muted"),
}

TASK_GLYPH: dict[str, tuple[str, str]] = {
    TaskStatus.PENDING.value: ("·", "dim"),
    TaskStatus.AWAITING_APPROVAL.value: ("⏸", "yellow"),
    TaskStatus.RUNNING.value: ("●", "cyan"),
    TaskStatus.WAITING_EXTERNAL.value: ("◌", "cyan"),
    TaskStatus.DONE.value: ("✓", "green"),
    TaskStatus.FAILED.value: ("✗", "red"),
    TaskStatus.SKIPPED.value: ("↷", "dim"),  # passed over: not ⊘, which means cancelled
    TaskStatus.CANCELLED.value: ("⊘", "dim"),
}

RUN_STYLE: dict[RunStatus, str] = {
    RunStatus.QUEUED: "dim",
    RunStatus.RUNNING: "cyan",
    RunStatus.AWAITING_APPROVAL: "yellow",
    RunStatus.PAUSED: "yellow",
    RunStatus.INTERRUPTED: "yellow",
    RunStatus.RETRY: "yellow",
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "red",
    RunStatus.FAILED_POLICY: "red",
    RunStatus.CANCELLED: "dim",
}

#: Every symbol the screens draw and its one meaning, for `?` (glyph, meaning).
LEGEND: tuple[tuple[str, str], ...] = (
    ("●", "running"),
    ("◌", "waiting on an external job"),
    ("⏸", "waiting for a human (an approval, a pause)"),
    ("✓", "done, succeeded"),
    ("✗", "failed"),
    ("⊘", "cancelled (a run or a task stopped before it finished)"),
    ("↷", "skipped (a task passed over: what it needs failed)"),
    ("↺", "interrupted, or waiting to be retried"),
    ("·", "pending, not started yet"),
    ("▲", "a policy violation (its severity: low, medium, high, critical)"),
    ("◐", "a workflow whose recent runs failed (degraded, unstable); ✗ there: blocked"),
    ("↳", "a fork (rewound or retried from another run), or what it carried over"),
    ("…", "cut short: more than fits, or still going"),
    ("○", "disconnected from the server: what is shown may be stale"),
    ("×N", "a task's attempts, when more than one"),
)

SEVERITY_STYLE: dict[ViolationSeverity, str] = {
    ViolationSeverity.CRITICAL: "bold red",
    ViolationSeverity.HIGH: "red",
    ViolationSeverity.MEDIUM: "yellow",
    ViolationSeverity.LOW: "dim",
}


def run_glyph(status: RunStatus) -> str:
    return RUN_GLYPH[status][0]


SHORT_ID = 6  # tail characters a short id shows at least


def short_id(run_id: str, length: int = SHORT_ID) -> str:
    """`…c1e2a9`: the id's last `length` characters. An id starts with its creation time, so
    runs of one day share their first characters; the tail is the random part."""
    return run_id if len(run_id) <= length + 1 else f"…{run_id[-length:]}"


def unique_length(ids: Iterable[str]) -> int:
    """The shortest tail (at least `SHORT_ID`) that tells every one of `ids` apart, so the
    short ids on one screen never collide; screens pass everything they show."""
    distinct = set(ids)
    length = SHORT_ID
    longest = max((len(i) for i in distinct), default=0)
    while length < longest and len({i[-length:] for i in distinct}) < len(distinct):
        length += 1
    return length


def clock_time(ts: float | None) -> str:
    return "—" if ts is None else time.strftime("%H:%M:%S", time.localtime(ts))


def started_time(ts: float, now: float) -> str:
    """`10:02:11` today; `12-04 10:02` (month-day) on another day, so yesterday's 10:02 is
    not read as today's."""
    when, today = time.localtime(ts), time.localtime(now)
    if (when.tm_year, when.tm_yday) == (today.tm_year, today.tm_yday):
        return time.strftime("%H:%M:%S", when)
    return time.strftime("%m-%d %H:%M" if when.tm_year == today.tm_year else "%Y-%m-%d", when)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def age(seconds: float) -> str:
    """How long, in one short unit: `12s`, `3m`, `2h`, `4d` (an age, a time left)."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def if_undecided(approval: ApprovalRow, now: float) -> str:
    """What a pending approval turns into when nobody decides, and when: `reject in 4m`
    (`reject now` once its timeout has passed), or `waits: no approval timeout`."""
    if approval.timeout_s is None:
        return "waits: no approval timeout"
    left = approval.requested_at + approval.timeout_s - now
    action = approval.default_action.value
    return f"{action} in {age(left)}" if left >= 1 else f"{action} now"
