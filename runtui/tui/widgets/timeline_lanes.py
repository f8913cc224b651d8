"""What a run's timeline holds: one lane per phase group, per violation gate and per task, each
a row of bars (an attempt, or a wait for an approval) with a start and an end (none yet: it is
still going, up to "now").

Built from the read models only (the run, its phase changes, tasks, attempts and approvals),
without Textual or Rich, so a test can check what is drawn for a run without drawing it:
`timeline_layout` then places the bars on columns. Times are epoch seconds; strings are as the
store gave them, but for labels, which are made terminal-safe here, once per read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from runtui.domain.approvals import ApprovalDecision
from runtui.domain.phases import RunPhase
from runtui.domain.tasks import AttemptStatus, TaskStatus
from runtui.domain.terminal_text import terminal_safe
from runtui.domain.views import ApprovalRow, AttemptRow, PhaseRow, RunRow, TaskRow


class BarKind(StrEnum):
    """How a bar ends, which is what its glyphs say (colour only repeats it)."""

    DONE = "done"  # ████▏ an attempt that completed, a phase passed, an approved wait
    FAILED = "failed"  # ████✗ a failed attempt, a rejected wait, the phase the run failed in
    CANCELLED = "cancelled"  # ████⊘ cancelled, or cut short when the run ended
    RUNNING = "running"  # ███▌… still going: its end is "now"
    WAITING = "waiting"  # ⏸╌╌╌… waiting for a human to approve
    WAITED = "waited"  # ⏸╌╌╌▏ an approval that was given


@dataclass(frozen=True, slots=True)
class Bar:
    start: float
    end: float | None  # None: still going
    kind: BarKind
    attempt: int | None = None  # the attempt it draws; None for a wait or a phase
    wait: bool = False  # a wait for an approval (drawn dashed), not work

    def until(self, now: float) -> float:
        return now if self.end is None else self.end


class LaneKind(StrEnum):
    PHASE = "phase"
    GATE = "gate"  # an approval that is no task's (a violation gate, a plan)
    TASK = "task"


@dataclass(frozen=True, slots=True)
class Lane:
    kind: LaneKind
    key: str  # task id, phase names, approval id: as stored (untrusted)
    label: str  # terminal-safe, on one line, before truncation: `fetch`, `EXECUTING`
    bars: tuple[Bar, ...]
    wave: int | None = None
    status: str = ""  # the task's status (`TaskStatus` values, or "carried"); "" otherwise
    attempts: int = 0
    exit_code: int | None = None  # of the last attempt that has one

    @property
    def start(self) -> float | None:
        return self.bars[0].start if self.bars else None

    def end(self, now: float) -> float | None:
        return max(b.until(now) for b in self.bars) if self.bars else None

    def took(self, now: float) -> float | None:
        """From its first bar's start to its last bar's end (retries and waits included)."""
        start, end = self.start, self.end(now)
        return None if start is None or end is None else max(0.0, end - start)

    @property
    def live(self) -> bool:
        return any(b.end is None for b in self.bars)


@dataclass(frozen=True, slots=True)
class Timeline:
    """A run's lanes and the time they span: from its creation to its end (or "now")."""

    created_at: float
    ended_at: float | None  # None: the run is still going
    fixed: tuple[Lane, ...]  # phases and gates: always on top, in time order
    tasks: tuple[Lane, ...]  # in wave order; `slowest_first` reorders them

    @property
    def live(self) -> bool:
        return self.ended_at is None

    def end(self, now: float) -> float:
        """The right edge: the run's end, or now; never before a bar's own end."""
        edge = self.ended_at if self.ended_at is not None else now
        for lane in (*self.fixed, *self.tasks):
            for bar in lane.bars:
                if bar.end is not None:
                    edge = max(edge, bar.end)
        return max(edge, self.created_at)


#: Phases drawn on one lane together: the moments before execution, execution, the checks after.
PHASE_GROUPS: tuple[tuple[RunPhase, ...], ...] = (
    (RunPhase.CREATED, RunPhase.AUTHORIZED),
    (RunPhase.EXECUTING,),
    (RunPhase.GOVERNANCE_CHECK, RunPhase.FINALIZING),
)

SHORT_NAMES = {RunPhase.GOVERNANCE_CHECK: "GOV_CHECK"}  # as the phase diagram shortens it
CARRIED = "carried"
_FAILED_ATTEMPT = frozenset({AttemptStatus.FAILED.value, AttemptStatus.FAILED_INIT.value})
_FINAL_ATTEMPT = frozenset(s.value for s in AttemptStatus if s.is_final)


def run_end(run: RunRow) -> float | None:
    """When the run ended (None while it is going): its summary's time, else the last sign."""
    if not run.status.is_terminal:
        return None
    for at in (run.ended_at, run.terminated_at):
        if at is not None:
            return at
    return run.updated_at


def phase_lanes(run: RunRow, phases: list[PhaseRow], ended_at: float | None) -> list[Lane]:
    entered: dict[RunPhase, float] = {RunPhase.CREATED: run.created_at}
    left: dict[RunPhase, float] = {}
    failed_from: RunPhase | None = None
    for p in sorted(phases, key=lambda p: p.seq):
        entered.setdefault(p.to_phase, p.at)
        left[p.from_phase] = p.at
        if p.to_phase is RunPhase.FAILED:
            failed_from = p.from_phase
    current = run.phase
    lanes: list[Lane] = []
    for group in PHASE_GROUPS:
        seen = [ph for ph in group if ph in entered]
        if not seen:
            continue
        start = min(entered[ph] for ph in seen)
        still = current in group and not current.is_terminal
        # still in it: it goes on (or ended with the run); else until it left the last one
        left_at = max((left.get(ph, entered[ph]) for ph in seen), default=start)
        end = ended_at if still else left_at
        if failed_from in group:
            kind = BarKind.FAILED
        elif still and ended_at is None:
            kind = BarKind.RUNNING
        elif still:
            kind = BarKind.CANCELLED
        else:
            kind = BarKind.DONE
        names = [SHORT_NAMES.get(ph, ph.value) for ph in seen]
        label = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"
        lanes.append(Lane(LaneKind.PHASE, label, label, (Bar(start, end, kind),)))
    return lanes


def approval_bar(a: ApprovalRow, ended_at: float | None) -> Bar:
    if a.decided_at is not None:
        kind = BarKind.FAILED if a.decision is ApprovalDecision.REJECT else BarKind.WAITED
        return Bar(a.requested_at, max(a.requested_at, a.decided_at), kind, wait=True)
    if ended_at is not None:  # the run ended while it waited
        return Bar(a.requested_at, max(a.requested_at, ended_at), BarKind.CANCELLED, wait=True)
    return Bar(a.requested_at, None, BarKind.WAITING, wait=True)


def attempt_bar(a: AttemptRow, ended_at: float | None) -> Bar:
    if a.ended_at is not None or a.status in _FINAL_ATTEMPT:
        end = max(a.started_at, a.ended_at if a.ended_at is not None else a.started_at)
        if a.status == AttemptStatus.COMPLETED:
            kind = BarKind.DONE
        elif a.status in _FAILED_ATTEMPT:
            kind = BarKind.FAILED
        else:
            kind = BarKind.CANCELLED
        return Bar(a.started_at, end, kind, a.attempt)
    if ended_at is not None:  # still "running" in a run that is over: cut short
        return Bar(a.started_at, max(a.started_at, ended_at), BarKind.CANCELLED, a.attempt)
    return Bar(a.started_at, None, BarKind.RUNNING, a.attempt)


def build_timeline(
    run: RunRow,
    phases: list[PhaseRow],
    tasks: list[TaskRow],
    attempts: list[AttemptRow],
    approvals: list[ApprovalRow],
) -> Timeline:
    ended_at = run_end(run)
    by_task: dict[str, list[Bar]] = defaultdict(list)
    last_exit: dict[str, int] = {}
    gates: list[Lane] = []
    for ap in approvals:
        bar = approval_bar(ap, ended_at)
        if ap.task_id is None:
            label = f"{ap.kind.value} gate"
            gates.append(Lane(LaneKind.GATE, ap.approval_id, label, (bar,)))
        else:
            by_task[ap.task_id].append(bar)
    for at in sorted(attempts, key=lambda a: (a.task_id, a.attempt)):
        by_task[at.task_id].append(attempt_bar(at, ended_at))
        if at.exit_code is not None:
            last_exit[at.task_id] = at.exit_code
    lanes = []
    for t in tasks:
        bars = tuple(sorted(by_task.get(t.task_id, ()), key=lambda b: b.start))
        status = t.status
        if status == TaskStatus.DONE and not bars and run.parent_run_id is not None:
            status = CARRIED  # a fork's task done before the wave it was rewound to
        lanes.append(
            Lane(
                LaneKind.TASK,
                t.task_id,
                terminal_safe(t.task_id, one_line=True),
                bars,
                wave=t.wave,
                status=status,
                attempts=t.attempts,
                exit_code=last_exit.get(t.task_id),
            )
        )
    lanes.sort(key=lambda lane: (lane.wave or 0, _start_or_last(lane), lane.key))
    gates.sort(key=lambda lane: (_start_or_last(lane), lane.key))
    return Timeline(
        created_at=run.created_at,
        ended_at=ended_at,
        fixed=(*phase_lanes(run, phases, ended_at), *gates),
        tasks=tuple(lanes),
    )


def _start_or_last(lane: Lane) -> float:
    return lane.start if lane.start is not None else float("inf")


def slowest_first(lanes: tuple[Lane, ...], now: float) -> tuple[Lane, ...]:
    """Longest first (a running task counts up to now); those that never started last, in
    wave order."""

    def key(lane: Lane) -> tuple[bool, float, int, str]:
        took = lane.took(now)
        return (took is None, -(took or 0.0), lane.wave or 0, lane.key)

    return tuple(sorted(lanes, key=key))
