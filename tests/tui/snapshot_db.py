"""A fixed database for the snapshot tests: seven runs written event by event with the store.

Every id, timestamp and line of output is a constant, so the screens drawn from this database
(with the app's clock fixed at `NOW` and TZ=UTC) are the same on every machine and every run.
The scripts follow what the runtime really commits for the example workflows (the same kinds,
in the same order, with the same reasons), only with fixed times and ids:

    deploy   awaiting_approval  a high safety violation asks a human before it is authorized
    demo     awaiting_approval  waiting at its publish gate (wave 3), a medium PII warning
    demo     succeeded          a fork: rewound from wave 3 of the first demo
    triage   failed_policy      a critical PII violation stopped it (policy_block)
    budget   failed             the critical 10k token budget stopped it at step-3
    failing  failed             compile exited 3; docs failed too, but that one is allowed
    demo     succeeded          approved by ann after four minutes at the gate

Nothing here starts the runtime: `build_snapshot_db` owns the file only while it writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import anyio

from runtui.actors.run_control import declare
from runtui.domain.approvals import ApprovalDecision, ApprovalKind
from runtui.domain.audit import AckStatus, standard_expectations
from runtui.domain.events import (
    AckRecorded,
    ApprovalDecided,
    ApprovalRequested,
    AttemptOutput,
    AttemptStarted,
    AttemptStatusChanged,
    EventBody,
    ExpectationDeclared,
    IncidentOpened,
    PendingEvent,
    PhaseChanged,
    RunCreated,
    RunStatusChanged,
    RunStopping,
    RunSummaryWritten,
    RunTerminated,
    SpanEnded,
    SpanStarted,
    TaskStatusChanged,
    ViolationData,
    ViolationRecorded,
    WaveCompleted,
)
from runtui.domain.phases import RunPhase
from runtui.domain.status import RunStatus
from runtui.domain.summary import RunResult
from runtui.domain.tasks import AttemptStatus, TaskStatus
from runtui.domain.termination import TERMINATION_TO_STATUS, RunTerminationReason
from runtui.domain.violations import PolicyViolationType, ViolationAction, ViolationSeverity
from runtui.domain.workflow import Workflow
from runtui.store import open_store
from runtui.workflows import parse_workflow

#: The clock of the app and the runtime in every snapshot: 2026-03-14 09:30:00 UTC.
NOW = 1_773_480_600.0

GOVERNANCE_TIMEOUT_S = 5.0
GRACE_S = 5.0


def run_id(minutes_ago: float, suffix: str) -> str:
    """An id shaped like the runtime's (`new_id`): creation milliseconds, then 8 hex digits."""
    return f"{int((NOW - minutes_ago * 60) * 1000):012x}{suffix}"


# (minutes before NOW the run was created, id)
DEMO_OK = run_id(75, "5eed0001")
FAILING = run_id(52, "5eed0002")
BUDGET = run_id(41, "5eed0003")
TRIAGE = run_id(30, "5eed0004")
FORK = run_id(18, "5eed0005")
DEMO_WAITING = run_id(2, "5eed0006")
DEPLOY = run_id(40 / 60, "5eed0007")

DEMO = """
name = "demo"
timeout_s = 300
[[tasks]]
id = "checkout"
kind = "shell"
cmd = "echo cloning"
[[tasks]]
id = "inventory"
kind = "shell"
cmd = "echo reading"
[[tasks]]
id = "lint"
kind = "shell"
needs = ["checkout"]
cmd = "echo linting"
[[tasks]]
id = "unit-tests"
kind = "shell"
needs = ["checkout"]
retries = 1
cmd = "echo testing"
[[tasks]]
id = "contributors"
kind = "shell"
needs = ["checkout"]
cmd = "echo collecting"
[[tasks]]
id = "report"
kind = "shell"
needs = ["lint", "unit-tests", "contributors", "inventory"]
cmd = "echo reporting"
[[tasks]]
id = "publish-gate"
kind = "gate"
needs = ["report"]
prompt = "Publish the report?"
[[tasks]]
id = "publish"
kind = "shell"
needs = ["publish-gate"]
cmd = "echo publishing"
[[tasks]]
id = "announce"
kind = "shell"
needs = ["publish"]
cmd = "echo announcing"
[[policies]]
id = "pii-in-output"
name = "No personal data in task output"
type = "pii_detected"
severity = "medium"
[[policies]]
id = "token-budget"
name = "Token budget"
type = "token_limit"
severity = "critical"
threshold = 20000
"""

FAILING_WF = """
name = "failing"
[[tasks]]
id = "fetch-deps"
kind = "shell"
cmd = "echo resolving"
[[tasks]]
id = "docs"
kind = "shell"
allow_failure = true
cmd = "exit 1"
[[tasks]]
id = "compile"
kind = "shell"
needs = ["fetch-deps"]
cmd = "exit 3"
[[tasks]]
id = "spellcheck"
kind = "shell"
needs = ["docs"]
cmd = "echo spelling"
[[tasks]]
id = "test"
kind = "shell"
needs = ["compile"]
cmd = "echo testing"
[[tasks]]
id = "package"
kind = "shell"
needs = ["test"]
cmd = "echo packaging"
"""

BUDGET_WF = """
name = "budget"
[[tasks]]
id = "step-1"
kind = "shell"
cmd = "echo 1"
[[tasks]]
id = "step-2"
kind = "shell"
needs = ["step-1"]
cmd = "echo 2"
[[tasks]]
id = "step-3"
kind = "shell"
needs = ["step-2"]
cmd = "echo 3"
[[tasks]]
id = "step-4"
kind = "shell"
needs = ["step-3"]
cmd = "echo 4"
[[policies]]
id = "token-budget"
name = "10k token budget"
type = "token_limit"
severity = "critical"
threshold = 10000
"""

TRIAGE_WF = """
name = "triage"
[[tasks]]
id = "fetch-tickets"
kind = "shell"
cmd = "echo fetching"
[[tasks]]
id = "summarise"
kind = "shell"
needs = ["fetch-tickets"]
cmd = "echo summarising"
[[tasks]]
id = "post"
kind = "noop"
needs = ["summarise"]
[[policies]]
id = "no-card-numbers"
name = "No card numbers in output"
type = "pii_detected"
severity = "critical"
pii = ["credit_card"]
"""

DEPLOY_WF = """
name = "deploy"
timeout_s = 600
[[tasks]]
id = "migrate"
kind = "shell"
cmd = "./migrate.sh && rm -rf /srv/app/cache"
[[tasks]]
id = "restart"
kind = "shell"
needs = ["migrate"]
cmd = "systemctl restart app"
[[policies]]
id = "no-destructive-commands"
type = "safety_violation"
severity = "high"
commands = ['rm\\s+-rf\\s+/']
"""


class Script:
    """One run's events, in the order and shape the runtime commits them, on a fixed clock."""

    def __init__(
        self,
        rid: str,
        toml: str,
        *,
        parent: str | None = None,
        rewound_from_wave: int | None = None,
        carried: tuple[str, ...] = (),
    ) -> None:
        self.rid = rid
        self.workflow: Workflow = parse_workflow(toml, source="snapshot.toml")
        self.waves = self.workflow.waves()
        self.t0 = self.t = int(rid[:12], 16) / 1000
        self.events: list[PendingEvent] = []
        self.ran: list[str] = []
        self.failed: list[str] = []
        self.parent = parent
        self.rewound_from_wave = rewound_from_wave
        self.carried = carried

    def ev(self, body: EventBody, wave: int | None = None, dt: float = 0.001) -> None:
        self.t = round(self.t + dt, 3)
        self.events.append(PendingEvent(self.rid, body, self.t, wave))  # type: ignore[arg-type]

    # --- the start: created, declared, audited, authorized --------------------------------------

    def create(self, *, before_authorize: Sequence[EventBody] = ()) -> None:
        wf = self.workflow
        timeout = wf.timeout_s or 30.0
        self.ev(
            RunCreated(
                workflow=wf.name,
                workflow_spec=wf.model_dump(mode="json"),
                hitl_mode=wf.hitl,
                timeout_s=timeout,
                parent_run_id=self.parent,
                rewound_from_wave=self.rewound_from_wave,
                metadata={"file": f"examples/{wf.name}.toml"},
            ),
            dt=0,
        )
        for task in wf.tasks:
            self.ev(declare(task, self.waves[task.id]), dt=0)
        for task_id in self.carried:
            self.ev(
                TaskStatusChanged(
                    task_id=task_id, status=TaskStatus.DONE, reason="carried from parent"
                ),
                self.waves[task_id],
                dt=0,
            )
        for e in standard_expectations(
            now=self.t0,
            governance_timeout_s=GOVERNANCE_TIMEOUT_S,
            run_timeout_s=timeout,
            grace_period_s=GRACE_S,
        ):
            self.ev(
                ExpectationDeclared(
                    domain=e.domain, action=e.action, deadline=e.deadline, liveness=e.liveness
                ),
                dt=0,
            )
        self.ev(SpanStarted(span_id="run", name=f"run {wf.name}"))
        self.ev(SpanStarted(span_id="phase:CREATED", name="CREATED", parent_id="run"))
        self.ev(AckRecorded(domain="logs", action="start_trace", status=AckStatus.SUCCESS))
        for body in before_authorize:
            self.ev(body)
        self.ev(AckRecorded(domain="policies", action="evaluate_policy", status=AckStatus.SUCCESS))
        self.ev(
            PhaseChanged(
                from_phase=RunPhase.CREATED, to_phase=RunPhase.AUTHORIZED, reason="policies allow"
            )
        )

    def execute(self) -> None:
        self.ev(PhaseChanged(from_phase=RunPhase.AUTHORIZED, to_phase=RunPhase.EXECUTING))
        self.ev(RunStatusChanged(status=RunStatus.RUNNING))
        self.ev(SpanEnded(span_id="phase:CREATED"))

    # --- tasks ---------------------------------------------------------------------------------

    def task(
        self,
        task_id: str,
        out: Sequence[str] = (),
        *,
        err: Sequence[str] = (),
        exit_code: int = 0,
        usage: dict[str, float] | None = None,
        took: float = 0.3,
        after: Sequence[EventBody] = (),
    ) -> None:
        """Start, print, finish: as the dispatcher and analyzer commit one shell attempt."""
        wave = self.waves[task_id]
        self.ev(TaskStatusChanged(task_id=task_id, status=TaskStatus.RUNNING), wave)
        self.ev(
            AttemptStarted(task_id=task_id, attempt=0, idempotency_key=f"{self.rid}:{task_id}:0"),
            wave,
        )
        span = f"attempt:{task_id}:0"
        self.ev(SpanStarted(span_id=span, name=f"attempt {task_id}#0", parent_id="run"))
        step = took / 2
        if out:
            self.ev(AttemptOutput(task_id=task_id, attempt=0, lines=list(out)), wave, dt=step)
        if err:
            self.ev(
                AttemptOutput(task_id=task_id, attempt=0, stream="stderr", lines=list(err)),
                wave,
                dt=step / 2,
            )
        ok = exit_code == 0
        self.ev(
            AttemptStatusChanged(
                task_id=task_id,
                attempt=0,
                status=AttemptStatus.COMPLETED if ok else AttemptStatus.FAILED,
                exit_code=exit_code,
                error=None if ok else f"exit code {exit_code}",
                usage=usage or {},
            ),
            wave,
            dt=step,
        )
        self.ev(SpanEnded(span_id=span, status="completed" if ok else "failed"))
        for body in after:
            self.ev(body)
        self.ev(
            TaskStatusChanged(
                task_id=task_id,
                status=TaskStatus.DONE if ok else TaskStatus.FAILED,
                reason="" if ok else f"exit code {exit_code}",
            ),
            wave,
        )
        self.ran.append(task_id)
        if not ok:
            self.failed.append(task_id)

    def set_status(self, task_id: str, status: TaskStatus, reason: str) -> None:
        self.ev(
            TaskStatusChanged(task_id=task_id, status=status, reason=reason), self.waves[task_id]
        )

    def wave_done(self, wave: int, *, failed: bool = False) -> None:
        self.ev(WaveCompleted(wave=wave, failed=failed), wave)

    # --- approvals -----------------------------------------------------------------------------

    def gate(self, task_id: str, prompt: str, unblocks: list[str]) -> str:
        approval_id = f"{int(self.t * 1000):012x}a9a90001"
        self.set_status(task_id, TaskStatus.AWAITING_APPROVAL, "")
        self.ev(
            ApprovalRequested(
                approval_id=approval_id,
                approval_kind=ApprovalKind.TASK,
                task_id=task_id,
                prompt=prompt,
                unblocks=unblocks,
            )
        )
        self.ev(RunStatusChanged(status=RunStatus.AWAITING_APPROVAL, reason="approval requested"))
        return approval_id

    def approve(self, approval_id: str, task_id: str, *, by: str, after_s: float) -> None:
        self.ev(
            ApprovalDecided(
                approval_id=approval_id, decision=ApprovalDecision.APPROVE, decided_by=by
            ),
            dt=after_s,
        )
        self.ev(RunStatusChanged(status=RunStatus.RUNNING, reason="approval approve"))
        self.set_status(task_id, TaskStatus.DONE, f"approved: {by}")
        self.ran.append(task_id)

    # --- governance ----------------------------------------------------------------------------

    def violation(self, data: ViolationData, action: ViolationAction) -> ViolationRecorded:
        return ViolationRecorded(violation=data, action=action)

    def finish(
        self,
        reason: RunTerminationReason,
        *,
        incident: tuple[ViolationSeverity, str] | None = None,
        stopped_at_step: int | None = None,
        violation: ViolationData | None = None,
        error: str | None = None,
    ) -> None:
        """Governance check, finalize, the termination and summary, the terminal phase."""
        ok = reason is RunTerminationReason.COMPLETED
        self.ev(PhaseChanged(from_phase=RunPhase.EXECUTING, to_phase=RunPhase.GOVERNANCE_CHECK))
        if incident is not None:
            self.ev(
                IncidentOpened(
                    incident_id=f"{self.rid}-inc-run", severity=incident[0], title=incident[1]
                )
            )
        self.ev(AckRecorded(domain="incidents", action="create_incident", status=AckStatus.SUCCESS))
        self.ev(PhaseChanged(from_phase=RunPhase.GOVERNANCE_CHECK, to_phase=RunPhase.FINALIZING))
        self.ev(SpanEnded(span_id="run", status="ok" if ok else "error"))
        self.ev(
            RunTerminated(
                reason=reason,
                stopped_at_step=stopped_at_step,
                violation=violation,
                error_message=error,
            )
        )
        self.ev(
            RunSummaryWritten(
                started_at=self.t0,
                ended_at=self.t,
                result=RunResult.SUCCESS if ok else RunResult.FAILED,
                failure_reason=None if ok else reason.value,
                stages_executed=list(self.ran),
                stages_failed=list(self.failed),
                metadata={"workflow": self.workflow.name},
            ),
            dt=0,
        )
        self.ev(
            AckRecorded(domain="orchestrator", action="finalize_run", status=AckStatus.SUCCESS),
            dt=0,
        )
        self.ev(
            PhaseChanged(
                from_phase=RunPhase.FINALIZING,
                to_phase=RunPhase.COMPLETED if ok else RunPhase.FAILED,
                reason=reason.value,
            ),
            dt=0,
        )
        status = TERMINATION_TO_STATUS[reason]
        self.ev(RunStatusChanged(status=status, reason=reason.value), dt=0)


# --- the seven runs ------------------------------------------------------------------------------

PII = ViolationData(
    policy_id="pii-in-output",
    policy_name="No personal data in task output",
    violation_type=PolicyViolationType.PII_DETECTED,
    severity=ViolationSeverity.MEDIUM,
    step_index=2,
    at=0.0,
    reason="task contributors: email found in output line 2",
)


def demo_until_gate(s: Script) -> str:
    """The demo's first three waves (with the PII warning), then its publish gate."""
    s.create()
    s.execute()
    s.task("inventory", ["reading the issue tracker export", "open items: 12"], took=0.2)
    s.task(
        "checkout",
        [
            "cloning example/widgets @ main",
            "  src/widgets.py",
            "  src/cli.py",
            "  tests/test_widgets.py",
            "  README.md",
            "checked out 4 files",
        ],
    )
    s.wave_done(0)
    s.task(
        "contributors",
        [
            "collecting contributors",
            "  42 commits  Ada Lovelace <ada@example.com>",
            "  17 commits  Alan Turing",
            "2 contributors",
        ],
        took=0.2,
        after=[s.violation(_at(PII, s.t + 0.2), ViolationAction.WARN)],
    )
    s.task(
        "lint",
        ["linting 3 Python files", "src/widgets.py: ok", "src/cli.py: ok", "tests/: ok"],
        usage={"tokens": 800.0, "cost": 0.0012},
    )
    s.task(
        "unit-tests",
        [f"test_widget_{i:02d} ... ok" for i in range(1, 6)] + ["5 passed"],
        usage={"tokens": 1500.0, "cost": 0.0023},
        took=0.4,
    )
    s.wave_done(1)
    s.task(
        "report",
        [
            "building the weekly report",
            "  lint           3 files ok",
            "  tests          5 passed",
            "  contributors   2",
            "  open items     12",
        ],
        usage={"tokens": 2400.0, "cost": 0.0036},
    )
    s.wave_done(2)
    return s.gate("publish-gate", "Publish the report?", ["announce", "publish", "publish-gate"])


def demo_after_gate(s: Script) -> None:
    s.wave_done(3)
    s.task("publish", ["publishing the report", "uploaded report-20260314.txt (4 sections)"])
    s.wave_done(4)
    s.task(
        "announce",
        ["posting to #releases: the weekly report is out"],
        usage={"tokens": 300.0, "cost": 0.0005},
        took=0.05,
    )
    s.wave_done(5)
    s.finish(RunTerminationReason.COMPLETED)


def _at(v: ViolationData, at: float) -> ViolationData:
    return ViolationData(
        policy_id=v.policy_id,
        policy_name=v.policy_name,
        violation_type=v.violation_type,
        severity=v.severity,
        step_index=v.step_index,
        at=round(at, 3),
        threshold_value=v.threshold_value,
        actual_value=v.actual_value,
        reason=v.reason,
    )


def demo_ok() -> Script:
    s = Script(DEMO_OK, DEMO)
    approval = demo_until_gate(s)
    s.approve(approval, "publish-gate", by="ann", after_s=241.3)
    demo_after_gate(s)
    return s


def failing() -> Script:
    s = Script(FAILING, FAILING_WF)
    s.create()
    s.execute()
    s.task("fetch-deps", ["resolving dependencies", "3 packages ready"], took=0.2)
    s.task(
        "docs",
        ["building the docs"],
        err=["warning: the link checker is offline"],
        exit_code=1,
        took=0.2,
    )
    s.wave_done(0, failed=True)
    s.task("spellcheck", ["spell-checking the docs", "0 misspellings"], took=0.01)
    s.task(
        "compile",
        ["compiling widgets.c"],
        err=["widgets.c:12: error: expected ';' before '}' token"],
        exit_code=3,
        after=[RunStopping(reason=RunTerminationReason.TASK_FAILED, error="task failed: compile")],
    )
    s.set_status("test", TaskStatus.SKIPPED, "needs compile, which failed")
    s.set_status("package", TaskStatus.SKIPPED, "needs compile, which failed")
    s.wave_done(1, failed=True)
    s.wave_done(2)
    s.wave_done(3)
    s.failed.remove("docs")  # allowed to fail: not a failed stage of the run
    s.finish(
        RunTerminationReason.TASK_FAILED,
        incident=(ViolationSeverity.HIGH, "run failed: task_failed"),
        error="task failed: compile",
    )
    return s


def budget() -> Script:
    s = Script(BUDGET, BUDGET_WF)
    s.create()
    s.execute()
    s.task(
        "step-1",
        ["summarising chapter 1", "::usage tokens=3000 cost=0.0045"],
        usage={"tokens": 3000.0, "cost": 0.0045},
        took=0.2,
    )
    s.wave_done(0)
    s.task(
        "step-2",
        ["summarising chapter 2", "::usage tokens=4000 cost=0.006"],
        usage={"tokens": 4000.0, "cost": 0.006},
        took=0.2,
    )
    s.wave_done(1)
    stop = ViolationData(
        policy_id="token-budget",
        policy_name="10k token budget",
        violation_type=PolicyViolationType.TOKEN_LIMIT,
        severity=ViolationSeverity.CRITICAL,
        step_index=2,
        at=round(s.t + 0.21, 3),
        threshold_value=10000.0,
        actual_value=12000.0,
        reason="12000 tokens used, budget 10000",
        task_id="step-3",
        attempt=0,
    )
    s.task(
        "step-3",
        [
            "summarising chapter 3, part 1",
            "::usage tokens=2500 cost=0.00375",
            "summarising chapter 3, part 2",
            "::usage tokens=2500 cost=0.00375",
        ],
        usage={"tokens": 5000.0, "cost": 0.0075},
        took=0.2,
        after=[
            s.violation(stop, ViolationAction.STOP),
            IncidentOpened(
                incident_id=f"{BUDGET}-inc-1",
                severity=ViolationSeverity.CRITICAL,
                title="critical token_limit: 10k token budget",
            ),
            RunStopping(
                reason=RunTerminationReason.BUDGET_EXCEEDED,
                stopped_at_step=2,
                violation=stop,
                error="10k token budget: 12000 tokens used, budget 10000",
            ),
        ],
    )
    s.wave_done(2)
    s.set_status("step-4", TaskStatus.CANCELLED, "run stopped")
    s.finish(
        RunTerminationReason.BUDGET_EXCEEDED,
        incident=(ViolationSeverity.HIGH, "run failed: budget_exceeded"),
        stopped_at_step=2,
        violation=stop,
        error="10k token budget: 12000 tokens used, budget 10000",
    )
    return s


def triage() -> Script:
    s = Script(TRIAGE, TRIAGE_WF)
    s.create()
    s.execute()
    s.task("fetch-tickets", ["fetched 3 tickets"], took=0.02)
    s.wave_done(0)
    stop = ViolationData(
        policy_id="no-card-numbers",
        policy_name="No card numbers in output",
        violation_type=PolicyViolationType.PII_DETECTED,
        severity=ViolationSeverity.CRITICAL,
        step_index=1,
        at=round(s.t + 0.02, 3),
        reason="task summarise: credit_card found in output line 1",
    )
    s.task(
        "summarise",
        ["ticket 1: customer card 4111 1111 1111 1111 declined"],
        took=0.02,
        after=[
            s.violation(stop, ViolationAction.STOP),
            IncidentOpened(
                incident_id=f"{TRIAGE}-inc-1",
                severity=ViolationSeverity.CRITICAL,
                title="critical pii_detected: No card numbers in output",
            ),
            RunStopping(
                reason=RunTerminationReason.POLICY_BLOCK,
                stopped_at_step=1,
                violation=stop,
                error="No card numbers in output: task summarise: credit_card found in output"
                " line 1",
            ),
        ],
    )
    s.wave_done(1)
    s.set_status("post", TaskStatus.CANCELLED, "run stopped")
    s.finish(
        RunTerminationReason.POLICY_BLOCK,
        incident=(ViolationSeverity.CRITICAL, "run failed: policy_block"),
        stopped_at_step=1,
        violation=stop,
        error="No card numbers in output: task summarise: credit_card found in output line 1",
    )
    return s


def fork() -> Script:
    carried = ("checkout", "inventory", "lint", "unit-tests", "contributors", "report")
    s = Script(FORK, DEMO, parent=DEMO_OK, rewound_from_wave=3, carried=(*carried, "publish-gate"))
    s.create()
    s.execute()
    demo_after_gate(s)
    return s


def demo_waiting() -> Script:
    s = Script(DEMO_WAITING, DEMO)
    demo_until_gate(s)
    return s


def deploy() -> Script:
    s = Script(DEPLOY, DEPLOY_WF)
    pattern = "rm\\s+-rf\\s+/"
    cmd = "./migrate.sh && rm -rf /srv/app/cache"
    data = ViolationData(
        policy_id="no-destructive-commands",
        policy_name="no-destructive-commands",
        violation_type=PolicyViolationType.SAFETY_VIOLATION,
        severity=ViolationSeverity.HIGH,
        step_index=0,
        at=round(s.t + 0.004, 3),
        reason=f"task migrate: command matches forbidden pattern '{pattern}': {cmd}",
    )
    s.create(
        before_authorize=[
            ViolationRecorded(violation=data, action=ViolationAction.APPROVE),
            IncidentOpened(
                incident_id=f"{DEPLOY}-inc-1",
                severity=ViolationSeverity.HIGH,
                title="high safety_violation: no-destructive-commands",
            ),
        ]
    )
    s.ev(
        ApprovalRequested(
            approval_id=f"{int(s.t * 1000):012x}a9a90002",
            approval_kind=ApprovalKind.VIOLATION,
            prompt=f"Policy violation before the run: {data.reason}. Run anyway?",
            unblocks=["migrate", "restart"],
        )
    )
    s.ev(RunStatusChanged(status=RunStatus.AWAITING_APPROVAL, reason="approval requested"))
    s.ev(SpanEnded(span_id="phase:CREATED"))
    return s


SCRIPTS = (demo_ok, failing, budget, triage, fork, demo_waiting, deploy)


async def build_snapshot_db(path: Path) -> dict[str, int]:
    """Write the seven runs to a new database at `path`; returns each run's event count."""
    counts: dict[str, int] = {}
    async with open_store(path) as store:
        for make in SCRIPTS:
            script = make()
            await store.writer.append_many(script.events)
            counts[script.rid] = len(script.events)
    return counts


def build_snapshot_db_sync(path: Path) -> dict[str, int]:
    return anyio.run(build_snapshot_db, path)
