"""Every message the actors exchange, one closed set per receiving actor.

Messages are frozen msgspec Structs: cheap to build, immutable once sent. Requests carry a
one-shot `Reply`. Each actor's `handle` matches over its own union exhaustively, so adding a
message without handling it is a type error, not a silent drop.
"""

from __future__ import annotations

from typing import Any

import msgspec

from runtui.actors.actor import Reply
from runtui.actors.operators.base import AttemptOutcome
from runtui.domain.approvals import ApprovalDecision
from runtui.domain.audit import AckStatus
from runtui.domain.events import ViolationData
from runtui.domain.phases import RunPhase
from runtui.domain.task_env import RunEnvironment
from runtui.domain.tasks import TaskStatus
from runtui.domain.termination import RunTerminationReason
from runtui.domain.violations import ViolationAction
from runtui.domain.workflow import PolicySpec, Workflow


class Msg(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every actor message."""


# --- to the kernel ---------------------------------------------------------------------------


class SubmitRun(Msg, frozen=True):
    workflow: Workflow
    reply: Reply[str]
    run_id: str | None = None  # the caller's own id (runtui.rok); None: a new one
    parent_run_id: str | None = None
    rewound_from_wave: int | None = None
    retry_count: int = 0
    carried: dict[str, TaskStatus] = msgspec.field(default_factory=dict)
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    run_env: RunEnvironment | None = None


class ResumeRun(Msg, frozen=True):
    run_id: str
    reply: Reply[None]
    stop: StopRun | None = None  # resume a run in order to end it: nothing new starts


class AuthorizationResult(Msg, frozen=True):
    run_id: str
    allowed: bool
    violation: ViolationData | None = None
    reason: str = ""
    gate: ViolationData | None = None  # allowed, but a human must agree first


class ExecutionComplete(Msg, frozen=True):
    run_id: str
    failed_tasks: list[str]  # failed without allow_failure: the run fails
    executed: list[str]  # the run's stages (`runtui.domain.summary.stages`)
    stages_failed: list[str] = msgspec.field(default_factory=list)
    retries: int = 0
    errors: dict[str, str] = msgspec.field(default_factory=dict)  # failed task -> why


class StopRun(Msg, frozen=True):
    """End the run with `reason`: a critical violation, a rejection, a timeout, a cancel."""

    run_id: str
    reason: RunTerminationReason
    stopped_at_step: int | None = None
    violation: ViolationData | None = None
    error: str | None = None
    reply: Reply[None] | None = None


class AckNotice(Msg, frozen=True):
    run_id: str
    domain: str
    action: str
    status: AckStatus


class RequestApproval(Msg, frozen=True):
    """The analyzer needs a human: a gate, a HITL task approval, or a violation gate."""

    run_id: str
    approval_id: str
    approval_kind: str
    task_id: str | None
    prompt: str
    timeout_s: float | None
    default_action: ApprovalDecision
    unblocks: list[str]


class Decide(Msg, frozen=True):
    approval_id: str
    decision: ApprovalDecision
    reason: str
    decided_by: str
    edits: dict[str, Any] | None
    reply: Reply[None] | None = None


class Timer(Msg, frozen=True):
    """A deadline the kernel set for itself fired."""

    run_id: str
    what: str  # "governance" | "run_timeout" | "approval:<id>"
    generation: int = 0


class SetRunWaiting(Msg, frozen=True):
    run_id: str
    waiting: bool


# --- to the analyzer -------------------------------------------------------------------------


class BeginExecution(Msg, frozen=True):
    run_id: str
    workflow: Workflow
    run_env: RunEnvironment | None = None
    carried: dict[str, TaskStatus] = msgspec.field(default_factory=dict)
    attempts_so_far: dict[str, int] = msgspec.field(default_factory=dict)
    pending_approvals: dict[str, str] = msgspec.field(default_factory=dict)  # approval → task
    approved: list[str] = msgspec.field(default_factory=list)  # tasks a human already approved
    # task → (attempt, external job id, started at): jobs still running elsewhere, to poll again
    jobs: dict[str, tuple[int, str, float]] = msgspec.field(default_factory=dict)
    halted: bool = False  # the run was stopping before a restart: start nothing, wind down


class AttemptAnalyzed(Msg, frozen=True):
    """An attempt ended and governance has looked at it."""

    run_id: str
    task_id: str
    attempt: int
    outcome: AttemptOutcome
    step_index: int
    verdict: ViolationAction | None = None
    violation: ViolationData | None = None


class PolicyVerdict(Msg, frozen=True):
    """A violation not tied to one attempt (e.g. a rate limit on dispatches)."""

    run_id: str
    action: ViolationAction
    violation: ViolationData


class ApprovalResolved(Msg, frozen=True):
    run_id: str
    approval_id: str
    decision: ApprovalDecision
    edits: dict[str, Any] | None = None
    reason: str = ""


class HaltExecution(Msg, frozen=True):
    """Stop dispatching and cancel what runs; report completion when it has drained."""

    run_id: str


# --- to the dispatcher and poller ------------------------------------------------------------


class Dispatch(Msg, frozen=True):
    run_id: str
    task_id: str
    attempt: int
    wave: int
    spec: Any
    caps: dict[str, int] = msgspec.field(default_factory=dict)
    run_limit: int | None = None
    rate_watched: bool = True  # a rate_limit policy wants to hear of this dispatch
    run_env: RunEnvironment | None = None
    scan_policies: tuple[PolicySpec, ...] = ()  # content/PII policies to feed the output to


class CancelAttempts(Msg, frozen=True):
    run_id: str


class Watch(Msg, frozen=True):
    """Poll an external job until it ends."""

    run_id: str
    task_id: str
    attempt: int
    wave: int
    spec: Any
    external_id: str
    started_at: float
    run_env: RunEnvironment | None = None


class Unwatch(Msg, frozen=True):
    run_id: str


class AttemptFinished(Msg, frozen=True):
    """To the dispatcher, from one of its attempt tasks: the operator returned `outcome`.

    The dispatcher records the end, frees the slot and tells governance, for every attempt
    that finished since its last batch at once: one commit and one message per batch instead
    of a writer request and a hop from each attempt task."""

    dispatch: Dispatch
    outcome: AttemptOutcome


# --- to the facades --------------------------------------------------------------------------


class Authorize(Msg, frozen=True):
    run_id: str
    workflow: Workflow


class ResumeGovernance(Msg, frozen=True):
    """A run this process did not authorize: what governance had counted for it, from the
    store (`runtui.domain.recall`), so budgets, rate windows and once-per-run policies go on
    where the last owner left off."""

    run_id: str
    workflow: Workflow
    steps: int = 0
    tokens: float = 0.0
    cost: float = 0.0
    fired: list[str] = msgspec.field(default_factory=list)
    dispatches: list[float] = msgspec.field(default_factory=list)


class ResumeTrace(Msg, frozen=True):
    """A run whose trace another process started: its spans that are still open."""

    run_id: str
    phase_span: str | None = None


class AttemptDone(Msg, frozen=True):
    run_id: str
    task_id: str
    attempt: int
    wave: int
    outcome: AttemptOutcome


class Dispatched(Msg, frozen=True):
    run_id: str
    task_id: str
    at: float


class ForgetRun(Msg, frozen=True):
    run_id: str


class LoseRun(Msg, frozen=True):
    """To the kernel: another process holds this run now (this one lost its lease). Drop it
    everywhere without writing anything, and stop its attempts here."""

    run_id: str


class RunOutcome(Msg, frozen=True):
    run_id: str
    failed: bool
    reason: RunTerminationReason
    detail: str = ""


class SeriousViolation(Msg, frozen=True):
    run_id: str
    violation: ViolationData


class StartTrace(Msg, frozen=True):
    run_id: str
    workflow: str


class PhaseEntered(Msg, frozen=True):
    run_id: str
    phase: RunPhase


class CloseTrace(Msg, frozen=True):
    """The run is finalizing: end its spans, then tell the kernel (TraceClosed)."""

    run_id: str
    ok: bool


class TraceClosed(Msg, frozen=True):
    run_id: str
