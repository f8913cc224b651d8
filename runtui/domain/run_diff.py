"""Two runs side by side: their tasks paired by id, what differs between each pair, and where
their output first parts.

A diff is read from what a run's screen reads anyway (the run, its tasks, attempts and
approvals: one call each per side), so pairing a thousand tasks costs no output read. The first
line where two attempts' output differs is found afterwards, task by task, by feeding an
`OutputComparer` pages of both outputs (`Port.task_output`) until they part, one ends, or a
bound is reached: a task's output is never read whole just to say that it is the same.

A fork starts with its parent's results for the tasks a rewind (or a retry) kept: the runtime
marks them done ("carried from parent") and never runs them, so in the fork they are done with
no attempt, in a wave up to the one it was rewound from, and (for a gate) with no approval of
their own. `task_sides` calls them `carried`; their output is their parent's.

Pure: no I/O, no terminal; the terminal UI formats what this module decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from runtui.domain.tasks import AttemptStatus, TaskStatus
from runtui.domain.views import ApprovalRow, AttemptRow, OutputLine, RunRow, TaskRow

#: Lines of each output compared at most before a diff says "the same as far as read".
MAX_COMPARED_LINES = 10_000
#: Lines asked for per page of each side while comparing.
COMPARE_PAGE_LINES = 500

_FINAL_ATTEMPT = frozenset(s.value for s in AttemptStatus if s.is_final)


class Difference(StrEnum):
    """What differs between the two sides of a task (output aside: it is found later)."""

    ONLY_LEFT = "only in the left run"
    ONLY_RIGHT = "only in the right run"
    STATUS = "status"
    EXIT = "exit code"
    ATTEMPTS = "attempts"


@dataclass(frozen=True, slots=True)
class TaskSide:
    """One task as one run has it: its status, whether the run carried it over from its parent,
    how many attempts it made here, and the last of them."""

    run_id: str
    task_id: str
    wave: int
    kind: str
    status: str  # a `TaskStatus` value
    allow_failure: bool
    carried: bool
    attempts: int
    last: AttemptRow | None

    @property
    def outcome(self) -> str:
        """The status compared across runs: a carried task is done, as its parent left it."""
        return TaskStatus.DONE.value if self.carried else self.status

    @property
    def exit_code(self) -> int | None:
        return self.last.exit_code if self.last is not None else None

    @property
    def attempt_final(self) -> bool:
        """Its last attempt has ended (its output will not grow)."""
        return self.last is not None and self.last.status in _FINAL_ATTEMPT

    def took(self, now: float) -> float | None:
        """How long its last attempt ran (so far, when it still runs)."""
        a = self.last
        if a is None:
            return None
        end = a.ended_at if a.ended_at is not None else now
        return max(0.0, end - a.started_at)

    @property
    def output_key(self) -> tuple[str, str, int, str] | None:
        """What its output is: the last attempt, as long as it has ended (None: no output to
        compare; a running attempt's output is compared once it ends)."""
        if self.carried or self.last is None or not self.attempt_final:
            return None
        return (self.run_id, self.task_id, self.last.attempt, self.last.status)


def is_carried(run: RunRow, task: TaskRow, ran: bool, asked: bool) -> bool:
    """Whether a fork carried `task` over from its parent: done without an attempt (`ran`) or
    an approval (`asked`) of its own, in a wave the fork kept."""
    kept = run.rewound_from_wave
    return (
        run.parent_run_id is not None
        and kept is not None
        and task.wave <= kept
        and task.status == TaskStatus.DONE.value
        and not ran
        and not asked
    )


def task_sides(
    run: RunRow,
    tasks: Iterable[TaskRow],
    attempts: Iterable[AttemptRow],
    approvals: Iterable[ApprovalRow],
) -> dict[str, TaskSide]:
    """Every task of `run` (tasks_of, attempts_of, approvals_of), by id."""
    last: dict[str, AttemptRow] = {}
    count: dict[str, int] = {}
    for a in attempts:
        count[a.task_id] = count.get(a.task_id, 0) + 1
        held = last.get(a.task_id)
        if held is None or a.attempt > held.attempt:
            last[a.task_id] = a
    asked = {a.task_id for a in approvals if a.task_id is not None}
    out: dict[str, TaskSide] = {}
    for t in tasks:
        ran = t.task_id in count
        out[t.task_id] = TaskSide(
            run_id=run.run_id,
            task_id=t.task_id,
            wave=t.wave,
            kind=t.kind,
            status=t.status,
            allow_failure=t.allow_failure,
            carried=is_carried(run, t, ran, t.task_id in asked),
            attempts=count.get(t.task_id, 0),
            last=last.get(t.task_id),
        )
    return out


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One task of either run, both sides of it, and what differs between them."""

    task_id: str
    wave: int
    left: TaskSide | None
    right: TaskSide | None
    differences: tuple[Difference, ...]
    #: One side carried the task over from the other run: the very same result.
    same_by_carry: bool = False

    @property
    def differs(self) -> bool:
        return bool(self.differences)

    @property
    def output_key(self) -> tuple[tuple[str, str, int, str], tuple[str, str, int, str]] | None:
        """The two attempts whose output is compared (None: nothing to compare)."""
        if self.left is None or self.right is None:
            return None
        left, right = self.left.output_key, self.right.output_key
        return None if left is None or right is None else (left, right)

    @property
    def running(self) -> bool:
        """A side's last attempt still runs: its output is compared once it ends."""
        return any(s is not None and s.last is not None and not s.attempt_final for s in self.sides)

    @property
    def sides(self) -> tuple[TaskSide | None, TaskSide | None]:
        return (self.left, self.right)

    def swapped(self) -> DiffRow:
        flipped = {
            Difference.ONLY_LEFT: Difference.ONLY_RIGHT,
            Difference.ONLY_RIGHT: Difference.ONLY_LEFT,
        }
        return replace(
            self,
            left=self.right,
            right=self.left,
            differences=tuple(flipped.get(d, d) for d in self.differences),
        )


def differences(left: TaskSide | None, right: TaskSide | None) -> tuple[Difference, ...]:
    """What tells the two sides apart, durations aside (two runs never take the same time)."""
    if left is None:
        return (Difference.ONLY_RIGHT,) if right is not None else ()
    if right is None:
        return (Difference.ONLY_LEFT,)
    out: list[Difference] = []
    if left.outcome != right.outcome:
        out.append(Difference.STATUS)
    if not (left.carried or right.carried):  # a carried side's attempts are its parent's
        ended = left.attempt_final and right.attempt_final  # a running one has no exit yet
        if ended and left.exit_code != right.exit_code:
            out.append(Difference.EXIT)
        if left.attempts != right.attempts:
            out.append(Difference.ATTEMPTS)
    return tuple(out)


def pair_tasks(
    left_run: RunRow,
    left: dict[str, TaskSide],
    right_run: RunRow,
    right: dict[str, TaskSide],
) -> list[DiffRow]:
    """Every task of either run, paired by id, in wave order (then by id, as runs list them)."""
    rows: list[DiffRow] = []
    for task_id in {*left, *right}:
        a, b = left.get(task_id), right.get(task_id)
        wave = a.wave if a is not None else b.wave if b is not None else 0
        carried_from_other = (
            a is not None
            and b is not None
            and (
                (b.carried and right_run.parent_run_id == left_run.run_id)
                or (a.carried and left_run.parent_run_id == right_run.run_id)
            )
        )
        rows.append(DiffRow(task_id, wave, a, b, differences(a, b), carried_from_other))
    rows.sort(key=lambda r: (r.wave, r.task_id))
    return rows


def default_other(run: RunRow, same_workflow: Iterable[RunRow]) -> RunRow | None:
    """Which run `run` is compared with when none is picked: its parent when it is a fork
    (the caller reads it), else the newest run of its workflow created before it, among
    `same_workflow` (newest first, as `list_runs` gives them)."""
    mine = (run.created_at, run.run_id)
    for other in same_workflow:
        if other.workflow == run.workflow and (other.created_at, other.run_id) < mine:
            return other
    return None


# --- output -------------------------------------------------------------------------------------


class OutputVerdict(StrEnum):
    SAME = "same"  # every line of both, the same
    DIFFERS = "differs"  # at `index`
    SAME_SO_FAR = "same so far"  # the first `index` lines are the same; the rest was not read


@dataclass(frozen=True, slots=True)
class OutputDiff:
    """Where two attempts' output (all streams, in the order printed) first differs: line
    `index` (0-based), each side's line there (None: that output had already ended)."""

    verdict: OutputVerdict
    index: int  # DIFFERS: the first line that differs; otherwise, lines compared
    left: OutputLine | None = None
    right: OutputLine | None = None

    def swapped(self) -> OutputDiff:
        return replace(self, left=self.right, right=self.left)


@dataclass(slots=True)
class OutputComparer:
    """Compares two outputs page by page, as they are read: `wanted` says which sides need
    their next page, `feed` takes it, `result` is the verdict once there is one."""

    limit: int = MAX_COMPARED_LINES
    compared: int = 0
    pending: tuple[list[OutputLine], list[OutputLine]] = field(default_factory=lambda: ([], []))
    ended: list[bool] = field(default_factory=lambda: [False, False])
    after: list[tuple[int, int]] = field(default_factory=lambda: [(0, 0), (0, 0)])
    result: OutputDiff | None = None

    def wanted(self) -> list[int]:
        """The sides (0 left, 1 right) to read a page of next (none once there is a result)."""
        if self.result is not None:
            return []
        return [s for s in (0, 1) if not self.pending[s] and not self.ended[s]]

    def feed(self, side: int, lines: Sequence[OutputLine], more: bool) -> None:
        """The next page of `side` (read after `after[side]`), and whether lines remain."""
        if self.result is not None:  # the other side's page already decided
            return
        self.pending[side].extend(lines)
        if lines:
            self.after[side] = lines[-1].at
        self.ended[side] = not more or not lines
        self._compare()

    def _compare(self) -> None:
        left, right = self.pending
        n = 0
        for a, b in zip(left, right, strict=False):
            if self.compared + n >= self.limit:
                break
            if a.text != b.text:
                self.result = OutputDiff(OutputVerdict.DIFFERS, self.compared + n, a, b)
                return
            n += 1
        self.compared += n
        del left[:n], right[:n]
        if self.compared >= self.limit:
            self.result = OutputDiff(OutputVerdict.SAME_SO_FAR, self.compared)
        elif not left and not right and all(self.ended):
            self.result = OutputDiff(OutputVerdict.SAME, self.compared)
        elif not left and self.ended[0] and right:
            self.result = OutputDiff(OutputVerdict.DIFFERS, self.compared, None, right[0])
        elif not right and self.ended[1] and left:
            self.result = OutputDiff(OutputVerdict.DIFFERS, self.compared, left[0], None)


__all__ = [
    "COMPARE_PAGE_LINES",
    "MAX_COMPARED_LINES",
    "DiffRow",
    "Difference",
    "OutputComparer",
    "OutputDiff",
    "OutputVerdict",
    "TaskSide",
    "default_other",
    "differences",
    "is_carried",
    "pair_tasks",
    "task_sides",
]
