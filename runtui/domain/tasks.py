"""Task and attempt statuses, and the wave of a task in its graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum


class TaskStatus(StrEnum):
    PENDING = "pending"
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    WAITING_EXTERNAL = "waiting_external"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in {
            TaskStatus.DONE,
            TaskStatus.FAILED,
            TaskStatus.SKIPPED,
            TaskStatus.CANCELLED,
        }


class AttemptStatus(StrEnum):
    CREATED = "created"
    SUBMITTED = "submitted"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    FAILED_INIT = "failed_init"
    CANCELLED = "cancelled"
    WAITING_EXTERNAL = "waiting_external"

    @property
    def is_final(self) -> bool:
        return self in {
            AttemptStatus.COMPLETED,
            AttemptStatus.FAILED,
            AttemptStatus.FAILED_INIT,
            AttemptStatus.CANCELLED,
        }


class TaskKind(StrEnum):
    SHELL = "shell"
    PYTHON = "python"
    EXTERNAL = "external"
    GATE = "gate"
    NOOP = "noop"
    SLEEP = "sleep"
    DRIVEN = "driven"  # the work of a program that drives its run itself (runtui.rok)


def compute_waves(needs: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Wave of each task: roots are 0, otherwise 1 + the highest wave among its needs.

    Expects a validated acyclic graph (workflow validation reports cycles with names).
    """
    waves: dict[str, int] = {}

    def wave_of(task: str, trail: tuple[str, ...]) -> int:
        if task in waves:
            return waves[task]
        if task in trail:
            raise ValueError(f"cycle through {' -> '.join((*trail, task))}")
        deps = needs[task]
        w = 0 if not deps else 1 + max(wave_of(d, (*trail, task)) for d in deps)
        waves[task] = w
        return w

    for t in needs:
        wave_of(t, ())
    return waves
