"""Verify a run's event log against the kernel's rules, from the events alone.

`verify_events` replays a run's events through a fresh `PhaseMachine` and stops at the first
step the kernel could never have taken:

- the log must start with `run.created` at seq 1, and seqs must run 1, 2, 3, ... with no gap,
  no repeat, and one run id throughout;
- each `phase.changed` must start from the phase the machine is in (`from_phase`) and be a legal
  edge of the transition table;
- each `run.status` must be a status its phase admits (PHASE_STATUS_INVARIANTS), judged
  against the phase in effect when the status was recorded, which is exactly where the kernel
  checks it; the final (phase, status) pair must be admitted too;
- a run that ended `succeeded` must have no event that forbids success (`recall.implied_stops`:
  a task that failed without `allow_failure`, a violation whose action is stop, a rejected
  approval, a stop reason the kernel recorded).

What is *not* checked: the pair in between a phase change and the status change that follows
it in the same commit (e.g. EXECUTING is entered while the run is still `queued`, and `running`
comes one event later). The store does not record commit boundaries, and event timestamps are
taken per event, so they cannot recover them.

Pure: no I/O, no framework; the CLI feeds it events read from the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from runtui.domain.events import EventEnvelope, PhaseChanged, RunCreated, RunStatusChanged
from runtui.domain.phases import PhaseMachine, PhaseTransition, RunPhase, is_legal_transition
from runtui.domain.recall import RecallFold, implied_stops
from runtui.domain.status import PHASE_STATUS_INVARIANTS, RunStatus, status_allowed


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of `verify_events`.

    `problem` is the first illegal step ("#12: CREATED -> EXECUTING is not a legal
    transition"), or None when the whole log is legal. The counts say how far the check got.
    """

    run_id: str | None
    events: int
    phase: RunPhase
    status: RunStatus
    transitions: tuple[PhaseTransition, ...]
    statuses_checked: int
    problem: str | None = None
    problem_seq: int | None = None
    #: "phases" (an illegal step) or "outcome" (the end contradicts the events)
    problem_kind: str = "phases"

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def path(self) -> str:
        """The phases the run went through, e.g. `CREATED → AUTHORIZED → EXECUTING`."""
        phases = [RunPhase.CREATED.value, *(t.to_phase.value for t in self.transitions)]
        return " → ".join(phases)


def _allowed(phase: RunPhase) -> str:
    return ", ".join(sorted(s.value for s in PHASE_STATUS_INVARIANTS[phase]))


def verify_events(envelopes: Iterable[EventEnvelope]) -> VerifyReport:
    """Replay `envelopes` (one run's events, in seq order) and report the first illegal step."""
    machine = PhaseMachine()
    status = RunStatus.QUEUED
    run_id: str | None = None
    count = 0
    checked = 0

    def report(problem: str | None = None, seq: int | None = None) -> VerifyReport:
        return VerifyReport(
            run_id=run_id,
            events=count,
            phase=machine.phase,
            status=status,
            transitions=machine.history,
            statuses_checked=checked,
            problem=problem,
            problem_seq=seq,
        )

    fold = RecallFold()
    for env in envelopes:
        fold.add(env)
        count += 1
        seq = env.seq
        if count == 1:
            run_id = env.run_id
            machine.run_id = run_id
            if seq != 1:
                return report(f"#{seq}: the first event has seq {seq}, not 1", seq)
            if not isinstance(env.body, RunCreated):
                return report(f"#1: the first event is {env.kind}, not run.created", seq)
            continue
        if env.run_id != run_id:
            return report(f"#{seq}: event of run {env.run_id} in the log of run {run_id}", seq)
        if seq != count:
            what = "repeats" if seq < count else "skips"
            return report(f"#{seq}: seq {what}; expected #{count}", seq)
        body = env.body
        if isinstance(body, RunCreated):
            return report(f"#{seq}: a second run.created", seq)
        if isinstance(body, PhaseChanged):
            current = machine.phase
            if body.from_phase is not current:
                return report(
                    f"#{seq}: from_phase {body.from_phase.value} but the run was in "
                    f"{current.value}",
                    seq,
                )
            if not is_legal_transition(current, body.to_phase):
                return report(
                    f"#{seq}: {current.value} -> {body.to_phase.value} is not a legal transition",
                    seq,
                )
            machine.transition(body.to_phase, at=env.ts, reason=body.reason)
        elif isinstance(body, RunStatusChanged):
            checked += 1
            if not status_allowed(machine.phase, body.status):
                status = body.status
                return report(
                    f"#{seq}: status {body.status.value} is not allowed in phase "
                    f"{machine.phase.value} (allowed: {_allowed(machine.phase)})",
                    seq,
                )
            status = body.status
    if count == 0:
        return report("the run has no events")
    if not status_allowed(machine.phase, status):
        return report(
            f"end of log: the run is {status.value} in phase {machine.phase.value} "
            f"(allowed: {_allowed(machine.phase)})"
        )
    if status is RunStatus.SUCCEEDED:
        against = implied_stops(fold.state)
        if against:
            first = against[0]
            more = f" (and {len(against) - 1} more)" if len(against) > 1 else ""
            bad = report(
                f"#{first.seq}: the run ended succeeded, but {first.what}{more}", first.seq
            )
            return replace(bad, problem_kind="outcome")
    return report()
