"""What a run's events say about the state its actors keep in memory.

A run can be driven by one process from start to end, or pass through a restart or a hand-over
(kill -9 and restart, `resume`, an embedded `approve`). The actors keep per-run state in memory
(the budget already spent, the policies that fired, why the run is stopping, the open phase
span, how long it has executed); if a process that resumes a run started from nothing, the run
would mean something else after the restart. `recall` folds a run's events into exactly that
state, so every actor resumes where the last owner left off.

The same fold tells what the events imply about how the run must end (`implied_stops`): a task
that failed without `allow_failure`, a violation whose action is stop, a rejected approval.
`verify` uses it to refuse a terminal status that contradicts them.

Pure: no I/O. Output lines are not needed here; callers may leave `attempt.output` out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from runtui.domain.approvals import ApprovalDecision, ApprovalKind
from runtui.domain.events import (
    ApprovalDecided,
    ApprovalRequested,
    AttemptStarted,
    AttemptStatusChanged,
    EventEnvelope,
    ProcessGroupRef,
    RunCreated,
    RunStatusChanged,
    RunStopping,
    RunTerminated,
    SpanEnded,
    SpanStarted,
    TaskDeclared,
    TaskStatusChanged,
    ViolationRecorded,
)
from runtui.domain.status import RunStatus
from runtui.domain.task_env import RunEnvironment
from runtui.domain.tasks import AttemptStatus, TaskStatus
from runtui.domain.violations import PolicyViolationType, ViolationAction

#: Statuses in which a run waits for a person: time spent in them does not count against the
#: run timeout, which bounds execution, not how long a human takes to answer.
WAITING_FOR_HUMAN = frozenset({RunStatus.AWAITING_APPROVAL, RunStatus.PAUSED})

#: Who decides when the run has ended and its open approvals are withdrawn (not a rejection).
WITHDRAWN_BY = "runtui"


@dataclass(frozen=True, slots=True)
class ImpliedStop:
    """An event that means the run cannot succeed, and where it is."""

    seq: int
    what: str


@dataclass
class RunRecall:
    """The per-run state the actors rebuild on resume (see the module docstring)."""

    created_at: float = 0.0
    timeout_s: float | None = None
    run_env: RunEnvironment | None = None
    parent_run_id: str | None = None
    rewound_from_wave: int | None = None
    # governance: every finished attempt is a step; usage adds up to the budgets
    steps: int = 0
    tokens: float = 0.0
    cost: float = 0.0
    violations: list[tuple[str, PolicyViolationType]] = field(default_factory=list)
    dispatches: list[float] = field(default_factory=list)  # when each attempt started
    # kernel: why the run is stopping, as the kernel recorded it
    stops: list[tuple[int, RunStopping]] = field(default_factory=list)  # (seq, reason)
    # kernel: time not waiting for a human, up to `status_since`
    status: RunStatus = RunStatus.QUEUED
    status_since: float = 0.0
    active_s: float = 0.0
    # analyzer: tasks a human approved under a HITL mode (they must not be asked again)
    approved_tasks: set[str] = field(default_factory=set)
    # whoever resumes: attempts of each task closed because their runtime stopped under them
    cut_short: dict[str, int] = field(default_factory=dict)
    # whoever resumes: process groups of attempts that had not ended (to kill before re-running)
    process_groups: dict[tuple[str, int], ProcessGroupRef] = field(default_factory=dict)
    # trace: spans still open
    open_spans: list[str] = field(default_factory=list)
    # the facts `implied_stops` judges
    implied: list[ImpliedStop] = field(default_factory=list)
    terminated: RunTerminated | None = None

    def fired(self, types: Iterable[PolicyViolationType]) -> set[str]:
        """Policies of `types` that have already recorded a violation."""
        wanted = frozenset(types)
        return {policy_id for policy_id, t in self.violations if t in wanted}

    def active_seconds(self, now: float) -> float:
        """Time the run has spent not waiting for a human, up to `now` (downtime included:
        the run was not waiting for anyone then, and its attempts re-run)."""
        if self.status in WAITING_FOR_HUMAN or self.status.is_terminal:
            return self.active_s
        return self.active_s + max(0.0, now - self.status_since)

    @property
    def open_phase_span(self) -> str | None:
        phases = [s for s in self.open_spans if s.startswith("phase:")]
        return phases[-1] if phases else None


class RecallFold:
    """`recall`, one event at a time (verify feeds a whole log through it without keeping it)."""

    def __init__(self) -> None:
        self.state = RunRecall()
        self._allow_failure: dict[str, bool] = {}
        self._task_of: dict[str, str | None] = {}
        self._kind_of: dict[str, ApprovalKind] = {}

    def add(self, env: EventEnvelope) -> None:
        r, body = self.state, env.body
        if isinstance(body, AttemptStatusChanged):
            key = (body.task_id, body.attempt)
            if body.process is not None:
                r.process_groups[key] = body.process
            if AttemptStatus(body.status).is_final:
                r.process_groups.pop(key, None)
                if body.by_restart:
                    r.cut_short[body.task_id] = r.cut_short.get(body.task_id, 0) + 1
                else:
                    r.steps += 1
                    r.tokens += body.usage.get("tokens", 0.0)
                    r.cost += body.usage.get("cost", 0.0)
        elif isinstance(body, AttemptStarted):
            r.dispatches.append(env.ts)
        elif isinstance(body, TaskStatusChanged):
            if body.status is TaskStatus.FAILED and not self._allow_failure.get(body.task_id):
                why = f" ({body.reason})" if body.reason else ""
                r.implied.append(ImpliedStop(env.seq, f"task {body.task_id} failed{why}"))
        elif isinstance(body, RunStatusChanged):
            _status(r, body.status, env.ts)
        elif isinstance(body, ViolationRecorded):
            v = body.violation
            r.violations.append((v.policy_id, v.violation_type))
            if body.action is ViolationAction.STOP:
                r.implied.append(
                    ImpliedStop(env.seq, f"policy {v.policy_name} ({v.severity.value}): stop")
                )
        elif isinstance(body, RunStopping):
            r.stops.append((env.seq, body))
        elif isinstance(body, ApprovalRequested):
            self._task_of[body.approval_id] = body.task_id
            self._kind_of[body.approval_id] = body.approval_kind
        elif isinstance(body, ApprovalDecided):
            _decided(r, env.seq, body, self._task_of, self._kind_of)
        elif isinstance(body, SpanStarted):
            r.open_spans.append(body.span_id)
        elif isinstance(body, SpanEnded):
            if body.span_id in r.open_spans:
                r.open_spans.remove(body.span_id)
        elif isinstance(body, TaskDeclared):
            self._allow_failure[body.task_id] = body.allow_failure
        elif isinstance(body, RunCreated):
            r.created_at = r.status_since = env.ts
            r.timeout_s = body.timeout_s
            r.run_env = body.run_env
            r.parent_run_id, r.rewound_from_wave = body.parent_run_id, body.rewound_from_wave
        elif isinstance(body, RunTerminated):
            r.terminated = body


def recall(events: Iterable[EventEnvelope]) -> RunRecall:
    """Fold one run's events (in seq order) into a `RunRecall`."""
    fold = RecallFold()
    for env in events:
        fold.add(env)
    return fold.state


def _status(r: RunRecall, status: RunStatus, at: float) -> None:
    if r.status not in WAITING_FOR_HUMAN and not r.status.is_terminal:
        r.active_s += max(0.0, at - r.status_since)
    r.status, r.status_since = status, at


def _decided(
    r: RunRecall,
    seq: int,
    body: ApprovalDecided,
    task_of: dict[str, str | None],
    kind_of: dict[str, ApprovalKind],
) -> None:
    task_id = task_of.get(body.approval_id)
    if body.decision is ApprovalDecision.REJECT:
        if r.terminated is None and body.decided_by != WITHDRAWN_BY:
            kind = kind_of.get(body.approval_id, ApprovalKind.TASK).value
            what = f"task {task_id}" if task_id else kind
            who = body.decided_by or "unknown"
            r.implied.append(ImpliedStop(seq, f"{what} approval rejected by {who}"))
    elif task_id is not None:
        r.approved_tasks.add(task_id)


def implied_stops(r: RunRecall) -> list[ImpliedStop]:
    """Every recorded fact that forbids the run from succeeding (empty: it may succeed)."""
    recorded = [
        ImpliedStop(seq, f"stopping: {s.reason.value}" + (f" ({s.error})" if s.error else ""))
        for seq, s in r.stops
    ]
    return sorted([*r.implied, *recorded], key=lambda s: s.seq)
