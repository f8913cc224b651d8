"""A run's task graph as it executes: which tasks are ready, which are skipped, when a failure
stops the rest (fail-fast) and when a wave has closed. Pure state and rules; the analyzer
(`actors.analyzer`) applies them and records what they decide as events.

Each step looks only at what it may have changed: a task whose need just finished is "dirty"
and re-examined, a wave a task of which finished is re-checked. (A 3,000-task chain would
otherwise rescan every task and wave after every attempt.)

The rules:
- a task is ready when each of its needs is done, or failed with `allow_failure`;
- a need that ended any other way (failed, skipped, cancelled) skips the task, and that skip
  makes its own dependents dirty in turn;
- a failure without `allow_failure` skips every pending task of the run (fail-fast: the run
  will fail; what already runs finishes);
- a wave closes once all its tasks are final and none is in flight; it failed if one of them
  failed without `allow_failure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from runtui.domain.summary import stages
from runtui.domain.tasks import TaskStatus
from runtui.domain.workflow import Workflow

#: Statuses a task does not leave by itself.
FINAL = frozenset({TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.SKIPPED, TaskStatus.CANCELLED})


@dataclass(frozen=True)
class Skip:
    task_id: str
    reason: str


@dataclass(frozen=True)
class Start:
    task_id: str


@dataclass(frozen=True)
class Outcome:
    """What the graph says about a finished execution (the kernel's `ExecutionComplete`)."""

    failed: list[str]  # failed without allow_failure: the run fails
    executed: list[str]  # its stages, in workflow order
    stages_failed: list[str]


@dataclass
class TaskGraph:
    workflow: Workflow
    waves: dict[str, int]
    status: dict[str, TaskStatus]
    next_attempt: dict[str, int]  # the next attempt index of each task (how many ran)
    inflight: set[str] = field(default_factory=set)  # dispatched, not yet analyzed
    waves_done: set[int] = field(default_factory=set)
    dirty: set[str] = field(default_factory=set)  # pending tasks whose readiness may change
    waves_to_check: set[int] = field(default_factory=set)  # waves a task of which finished
    unfinished: int = 0  # tasks not in a final status
    failed_fast: bool = False
    _members: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        workflow: Workflow,
        *,
        carried: dict[str, TaskStatus] | None = None,
        attempts_so_far: dict[str, int] | None = None,
    ) -> Self:
        """The graph of a run starting (or resuming): every task pending but what it carried
        over (a fork's kept results); waves that the carried results closed are closed."""
        carried = carried or {}
        status = {t.id: TaskStatus.PENDING for t in workflow.tasks}
        status.update(carried)
        waves = workflow.waves()
        graph = cls(
            workflow,
            waves,
            status,
            {t.id: (attempts_so_far or {}).get(t.id, 0) for t in workflow.tasks},
        )
        graph.dirty = set(status)
        graph.unfinished = sum(1 for s in status.values() if s not in FINAL)
        for wave in range(workflow.wave_count):  # closed before a restart: announced back then
            members = graph.members(wave)
            if (
                carried
                and all(status[t] in FINAL for t in members)
                and any(t in carried for t in members)
            ):
                graph.waves_done.add(wave)
        graph.waves_to_check = set(range(workflow.wave_count)) - graph.waves_done
        return graph

    def members(self, wave: int) -> list[str]:
        """The tasks of `wave` (cached; `add_tasks` clears the cache)."""
        if not self._members:
            for task_id, w in self.waves.items():
                self._members.setdefault(w, []).append(task_id)
        return self._members.get(wave, [])

    def set(self, task_id: str, status: TaskStatus) -> None:
        """A task's new status; keeps the counts and work lists right."""
        was_final = self.status[task_id] in FINAL
        self.status[task_id] = status
        if status in FINAL and not was_final:
            self.unfinished -= 1
            self.dirty.update(self.workflow.dependents(task_id))
            self.waves_to_check.add(self.waves[task_id])
        elif was_final and status not in FINAL:
            self.unfinished += 1

    def needs_met(self, needs: list[str]) -> tuple[str | None, bool]:
        """(a need that blocks for good, whether every need is met)."""
        ready = True
        for need in needs:
            s = self.status[need]
            if s is TaskStatus.DONE:
                continue
            if s is TaskStatus.FAILED and self.workflow.task(need).allow_failure:
                continue
            if s in FINAL:
                return need, False
            ready = False
        return None, ready

    def step(self) -> list[Skip | Start]:
        """What to do now, in workflow order: tasks to skip (already marked skipped here, and
        their dependents examined in turn) and tasks to start (the caller starts each, or asks
        a person first)."""
        actions: list[Skip | Start] = []
        while self.dirty:
            batch = sorted(self.dirty, key=self.workflow.position)
            self.dirty.clear()
            for task_id in batch:
                if self.status[task_id] is not TaskStatus.PENDING or task_id in self.inflight:
                    continue
                blocked, ready = self.needs_met(self.workflow.task(task_id).needs)
                if blocked:
                    self.set(task_id, TaskStatus.SKIPPED)
                    actions.append(Skip(task_id, f"upstream {blocked} did not succeed"))
                elif ready:
                    actions.append(Start(task_id))
        return actions

    def fail_fast(self, failed: str) -> list[Skip]:
        """`failed` failed for good without `allow_failure`: skip every pending task."""
        self.failed_fast = True
        downstream = self.workflow.downstream(failed)
        skipped = []
        for task_id, s in list(self.status.items()):
            if s is TaskStatus.PENDING and task_id not in self.inflight:
                why = (
                    f"needs {failed}, which failed"
                    if task_id in downstream
                    else f"fail-fast after {failed} failed"
                )
                self.set(task_id, TaskStatus.SKIPPED)
                skipped.append(Skip(task_id, why))
        return skipped

    def close_waves(self) -> list[tuple[int, bool]]:
        """Waves that have just closed, in order, each with whether it failed."""
        closed = []
        for wave in sorted(self.waves_to_check):
            self.waves_to_check.discard(wave)
            if wave in self.waves_done:
                continue
            members = self.members(wave)
            if all(self.status[t] in FINAL and t not in self.inflight for t in members):
                self.waves_done.add(wave)
                failed = any(  # a failure the workflow allows does not fail its wave
                    self.status[t] is TaskStatus.FAILED and not self.workflow.task(t).allow_failure
                    for t in members
                )
                closed.append((wave, failed))
        return closed

    def add_tasks(self, workflow: Workflow) -> list[str]:
        """The workflow grew (a replan): its new tasks join, pending; their ids."""
        added = [t.id for t in workflow.tasks[len(self.workflow.tasks) :]]
        for task_id in added:
            self.status[task_id] = TaskStatus.PENDING
            self.next_attempt[task_id] = 0
            self.dirty.add(task_id)
            self.unfinished += 1
        self.workflow, self.waves = workflow, workflow.waves()
        self._members.clear()
        return added

    def outcome(self) -> Outcome:
        failed_all = {t for t, s in self.status.items() if s is TaskStatus.FAILED}
        failed = [t for t in failed_all if not self.workflow.task(t).allow_failure]
        ran = {t for t, n in self.next_attempt.items() if n > 0}
        executed, stages_failed = stages([t.id for t in self.workflow.tasks], ran, failed_all)
        return Outcome(failed, executed, stages_failed)
