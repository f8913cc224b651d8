"""The workflow format as pure, frozen models: a task graph in waves, its policies, governance.

Why models and not dicts: the kernel, the store and the UI all read one validated object, so
every rule (ids, kinds, limits, an acyclic graph, well-formed policies) is checked once, here,
before anything runs. Reading TOML and pointing errors at file lines is `runtui.workflows`'s
job; this module does no I/O.

Validators that check more than one field raise `SpecError`, whose issues carry the location of
the offending key relative to the model; pydantic keeps the exception in the error's context, so
the loader can name `tasks[3].needs` instead of just "the workflow".

Usage protocol: a task reports what it consumed by printing a line
`::usage tokens=N cost=X` on stdout (either key may be left out; each such line adds to the run's
totals). `token_limit` and `cost_limit` policies compare those totals with their threshold.

Every field has a bound (`workflow_fields`); no string that reaches a process holds a NUL byte.
"""

from __future__ import annotations

import difflib
import shlex
from collections import deque
from collections.abc import Mapping, Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    field_validator,
    model_validator,
)

from runtui.domain.approvals import ApprovalDecision, HitlMode
from runtui.domain.errors import NotFoundError
from runtui.domain.policy_regex import (
    PII_DETECTORS,
    PII_PATTERNS,
    LinearRegex,
    PiiDetector,
    RegexRefused,
    compile_linear,
)
from runtui.domain.tasks import TaskKind, compute_waves
from runtui.domain.violations import (
    PolicyViolationType,
    ViolationAction,
    ViolationSeverity,
    default_action,
)
from runtui.domain.workflow_fields import (
    MAX_ENV,
    MAX_ID,
    MAX_REGEXES,
    MAX_SECONDS,
    MAX_THRESHOLD,
    Command,
    EnvName,
    EnvValue,
    FunctionRef,
    Id,
    Name,
    NonBlankName,
    Regex,
    Seconds,
    Text,
    WorkDir,
)
from runtui.domain.workflow_source import WorkflowSource

# Strict: a file says `retries = 3`, not `retries = "3"`; a silently coerced string hides typos.
# Enum fields opt back out (below), because TOML can only spell them as strings.
_CONFIG = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

Loc = tuple[str | int, ...]


class SpecIssue(NamedTuple):
    """One problem found by a cross-field check, at `loc` relative to the model that checked."""

    loc: Loc
    message: str


class SpecError(ValueError):
    """Cross-field validation failures, each with its own location (see the module docstring)."""

    def __init__(self, issues: Sequence[SpecIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("; ".join(f"{'.'.join(map(str, i.loc))}: {i.message}" for i in issues))


# --- tasks -------------------------------------------------------------------------------------


class TaskSpecBase(BaseModel):
    """Fields every task kind has. `needs` lists the ids that must finish first."""

    model_config = _CONFIG

    id: Id
    name: Name | None = None
    needs: list[Annotated[str, Field(max_length=MAX_ID)]] = Field(
        default_factory=list, max_length=100
    )
    retries: int = Field(default=0, ge=0, le=10)
    timeout_s: Seconds | None = None
    allow_failure: bool = False

    @property
    def label(self) -> str:
        """What the UI shows: the name when there is one."""
        return self.name or self.id


class ShellTask(TaskSpecBase):
    """`cmd` run with `/bin/sh -c`; output lines become events, a non-zero exit is a failure."""

    kind: Literal[TaskKind.SHELL] = TaskKind.SHELL
    cmd: Command
    env: dict[EnvName, EnvValue] = Field(default_factory=dict, max_length=MAX_ENV)
    cwd: WorkDir | None = None


class PythonTask(TaskSpecBase):
    """`function` ("package.module:function", sync or async) called with `**args`."""

    kind: Literal[TaskKind.PYTHON] = TaskKind.PYTHON
    function: FunctionRef
    args: dict[str, Any] = Field(default_factory=dict)


class ExternalJobState(StrEnum):
    """What an external task's `poll` command prints (its last non-empty line, trimmed)."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExternalTask(TaskSpecBase):
    """A job elsewhere (batch scheduler, CI): `submit` prints a job id, `poll` reports on it.

    The job id is the last non-empty line `submit` prints. `poll` runs every `poll_interval_s`
    until it prints `done` or `failed` (see `ExternalJobState`); `{job_id}` in it is replaced by
    the id, shell-quoted, and nothing else in the string is interpreted.
    """

    kind: Literal[TaskKind.EXTERNAL] = TaskKind.EXTERNAL
    submit: Command
    poll: Command
    poll_interval_s: Seconds = 1.0

    def poll_command(self, job_id: str) -> str:
        return self.poll.replace("{job_id}", shlex.quote(job_id))


class GateTask(TaskSpecBase):
    """A human approval. `default` is applied when `approval_timeout_s` passes unanswered."""

    kind: Literal[TaskKind.GATE] = TaskKind.GATE
    prompt: Text = ""
    approval_timeout_s: Seconds | None = None
    default: Annotated[ApprovalDecision, Strict(False)] = ApprovalDecision.REJECT

    @field_validator("default")
    @classmethod
    def _no_edits_by_default(cls, value: ApprovalDecision) -> ApprovalDecision:
        if value is ApprovalDecision.APPROVE_WITH_EDITS:
            raise ValueError("must be 'approve' or 'reject': nobody makes edits on a timeout")
        return value


class NoopTask(TaskSpecBase):
    """Does nothing and succeeds: a join point in the graph, or a demo."""

    kind: Literal[TaskKind.NOOP] = TaskKind.NOOP


class SleepTask(TaskSpecBase):
    """Waits `seconds`, then succeeds."""

    kind: Literal[TaskKind.SLEEP] = TaskKind.SLEEP
    seconds: float = Field(ge=0, le=MAX_SECONDS)


class DrivenTask(TaskSpecBase):
    """The work of a program that drives the run itself (`runtui.rok.create_rok`): its attempt
    lasts while that program works and ends as it reports. Only that program can make one: a
    workflow file or a submission to a server cannot (nobody there would do the work)."""

    kind: Literal[TaskKind.DRIVEN] = TaskKind.DRIVEN


TaskSpec = Annotated[
    ShellTask | PythonTask | ExternalTask | GateTask | NoopTask | SleepTask | DrivenTask,
    Field(discriminator="kind"),
]

TASK_MODELS: Mapping[TaskKind, type[TaskSpecBase]] = MappingProxyType(
    {
        TaskKind.SHELL: ShellTask,
        TaskKind.PYTHON: PythonTask,
        TaskKind.EXTERNAL: ExternalTask,
        TaskKind.GATE: GateTask,
        TaskKind.NOOP: NoopTask,
        TaskKind.SLEEP: SleepTask,
        TaskKind.DRIVEN: DrivenTask,
    }
)


# --- policies ----------------------------------------------------------------------------------

# The fields each policy type uses, and the one it cannot do without (with how to say so).
_TYPE_FIELDS: Mapping[PolicyViolationType, frozenset[str]] = {
    PolicyViolationType.TOKEN_LIMIT: frozenset({"threshold"}),
    PolicyViolationType.COST_LIMIT: frozenset({"threshold"}),
    PolicyViolationType.RATE_LIMIT: frozenset({"threshold", "window_s"}),
    PolicyViolationType.CONTENT_POLICY: frozenset({"pattern"}),
    PolicyViolationType.PII_DETECTED: frozenset({"pii"}),
    PolicyViolationType.SAFETY_VIOLATION: frozenset({"commands"}),
    PolicyViolationType.CUSTOM_RULE: frozenset({"function"}),
}
_REQUIRED: Mapping[PolicyViolationType, tuple[str, str]] = {
    PolicyViolationType.TOKEN_LIMIT: ("threshold", "a threshold (> 0, in tokens)"),
    PolicyViolationType.COST_LIMIT: ("threshold", "a threshold (> 0, in USD)"),
    PolicyViolationType.RATE_LIMIT: ("threshold", "a threshold (> 0, dispatches per window_s)"),
    PolicyViolationType.CONTENT_POLICY: ("pattern", "a pattern (an RE2 regex)"),
    PolicyViolationType.SAFETY_VIOLATION: ("commands", "a non-empty list of command regexes"),
    PolicyViolationType.CUSTOM_RULE: ("function", "a function ('package.module:function')"),
}
_TYPE_SPECIFIC = frozenset().union(*_TYPE_FIELDS.values())


class PolicySpec(BaseModel):
    """A governance rule evaluated during the run; what a violation does follows its severity.

    - token_limit / cost_limit: the run's accumulated usage (tokens / cost in USD, as tasks
      report it with `::usage` lines) exceeds `threshold`.
    - rate_limit: more than `threshold` task dispatches within the last `window_s` seconds.
    - content_policy: `pattern` (an RE2 regex, see `policy_regex`) matches somewhere in a line
      of a task's output.
    - pii_detected: one of the `pii` detectors (`PII_PATTERNS`) matches a task's output.
    - safety_violation: one of the `commands` regexes matches a shell command before it runs.
    - custom_rule: `function(context) -> str | None` returns a reason when violated.

    A field that the policy's type does not use is an error (unless it holds its default),
    rather than silently ignored.
    """

    model_config = _CONFIG

    id: Id
    name: Name | None = None
    type: Annotated[PolicyViolationType, Strict(False)]
    severity: Annotated[ViolationSeverity, Strict(False)]
    on_violation: Annotated[ViolationAction, Strict(False)] | None = None
    threshold: float | None = Field(default=None, gt=0, le=MAX_THRESHOLD)
    window_s: Seconds = 60.0
    pattern: Regex | None = None
    pii: list[PiiDetector] = Field(default_factory=lambda: list(PII_DETECTORS), min_length=1)
    commands: list[Regex] = Field(default_factory=list, max_length=MAX_REGEXES)
    function: FunctionRef | None = None

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def action(self) -> ViolationAction:
        """`on_violation`, or the severity's default (critical stop, high approve, else warn)."""
        return self.on_violation or default_action(self.severity)

    def compiled(self) -> list[tuple[str, LinearRegex]]:
        """The (label, regex) pairs this policy scans with; empty for types that do not scan."""
        if self.type is PolicyViolationType.PII_DETECTED:
            return [(name, compile_linear(PII_PATTERNS[name])) for name in self.pii]
        return [(regex, compile_linear(regex)) for _, regex in self._regexes()]

    def _regexes(self) -> list[tuple[Loc, str]]:
        if self.type is PolicyViolationType.CONTENT_POLICY and self.pattern is not None:
            return [(("pattern",), self.pattern)]
        if self.type is PolicyViolationType.SAFETY_VIOLATION:
            return [(("commands", i), c) for i, c in enumerate(self.commands)]
        return []

    @model_validator(mode="after")
    def _check_type_fields(self) -> PolicySpec:
        issues: list[SpecIssue] = []
        kind, fields = self.type.value, _TYPE_FIELDS[self.type]
        # A default value is not "set": a dump of a valid policy must validate again.
        defaults = {
            f: type(self).model_fields[f].get_default(call_default_factory=True)
            for f in _TYPE_SPECIFIC
        }
        for extra in sorted(f for f in _TYPE_SPECIFIC - fields if getattr(self, f) != defaults[f]):
            message = f"not used by a {kind} policy (it uses: {', '.join(sorted(fields))})"
            issues.append(SpecIssue((extra,), message))
        if (required := _REQUIRED.get(self.type)) and not getattr(self, required[0]):
            issues.append(SpecIssue((required[0],), f"a {kind} policy needs {required[1]}"))
        for loc, regex in self._regexes():
            try:
                compile_linear(regex)
            except RegexRefused as exc:
                issues.append(SpecIssue(loc, f"invalid regex {regex!r}: {exc}"))
        if issues:
            raise SpecError(issues)
        return self


class GovernanceSpec(BaseModel):
    """`strict`: the governance check fails the run when an audit expectation was not acked."""

    model_config = _CONFIG

    strict: bool = False


# --- the workflow ------------------------------------------------------------------------------


class Workflow(BaseModel):
    """A validated workflow: an acyclic task graph, its limits, policies and HITL mode.

    `max_concurrency` None means the runtime's global default; `caps` limit running tasks per
    kind. Waves are computed once, at validation, so the accessors below are cheap.
    """

    model_config = _CONFIG

    name: NonBlankName
    description: Text = ""
    timeout_s: Seconds | None = None
    hitl: Annotated[HitlMode, Strict(False)] = HitlMode.NONE
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)
    caps: dict[Annotated[TaskKind, Strict(False)], Annotated[int, Field(ge=1, le=1000)]] = Field(
        default_factory=dict
    )
    tasks: list[TaskSpec] = Field(min_length=1, max_length=10_000)
    policies: list[PolicySpec] = Field(default_factory=list, max_length=1000)
    governance: GovernanceSpec = Field(default_factory=GovernanceSpec)

    _index: dict[str, int] = PrivateAttr(default_factory=dict)
    _waves: dict[str, int] = PrivateAttr(default_factory=dict)
    _dependents: dict[str, list[str]] = PrivateAttr(default_factory=dict)
    # the text it was read from (a TOML file, a Flow's module), kept with a run it starts
    _source: WorkflowSource | None = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        """Equal fields: where a workflow was read from (`source`) is not part of it."""
        if not isinstance(other, Workflow):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    @property
    def source(self) -> WorkflowSource | None:
        """The text this workflow was read from, if known (`runtui.domain.workflow_source`)."""
        return self._source

    def with_source(self, source: WorkflowSource | None) -> Workflow:
        """This workflow, read from `source`."""
        copy = self.model_copy()
        copy._source = source
        return copy

    @model_validator(mode="after")
    def _check_graph(self) -> Workflow:
        issues = _graph_issues(self.tasks)
        issues += _duplicates("policies", "policy", [p.id for p in self.policies])
        if issues:
            raise SpecError(issues)
        self._index = {t.id: i for i, t in enumerate(self.tasks)}
        self._dependents = {t.id: [] for t in self.tasks}
        for t in self.tasks:
            for dep in dict.fromkeys(t.needs):
                self._dependents[dep].append(t.id)
        # compute_waves recurses; fed in topological order every lookup is already memoised,
        # so a 10,000-task chain does not hit the recursion limit.
        needs = {t.id: t.needs for t in self.tasks}
        self._waves = compute_waves({tid: needs[tid] for tid in _walk(needs)[1]})
        return self

    def waves(self) -> dict[str, int]:
        """Wave of each task id: roots are 0, otherwise 1 + the highest wave among its needs."""
        return {t.id: self._waves[t.id] for t in self.tasks}

    @property
    def wave_count(self) -> int:
        return 1 + max(self._waves.values())

    def by_wave(self) -> list[list[TaskSpec]]:
        """Tasks grouped by wave, in file order within a wave."""
        groups: list[list[TaskSpec]] = [[] for _ in range(self.wave_count)]
        for t in self.tasks:
            groups[self._waves[t.id]].append(t)
        return groups

    def task(self, task_id: str) -> TaskSpec:
        if task_id not in self._index:
            raise NotFoundError(f"workflow {self.name!r} has no task {task_id!r}")
        return self.tasks[self._index[task_id]]

    def position(self, task_id: str) -> int:
        """Where `task_id` stands in the file (things done "in file order" sort by this)."""
        return self._index[task_id]

    def dependents(self, task_id: str) -> list[str]:
        """The tasks that directly need `task_id`."""
        return self._dependents[task_id]

    def downstream(self, task_id: str) -> set[str]:
        """Every task that transitively needs `task_id` (what a failure of it skips)."""
        self.task(task_id)
        found: set[str] = set()
        queue = deque(self._dependents[task_id])
        while queue:
            current = queue.popleft()
            if current not in found:
                found.add(current)
                queue.extend(self._dependents[current])
        return found


def _duplicates(field: str, noun: str, ids: Sequence[str]) -> list[SpecIssue]:
    first: dict[str, int] = {}
    issues: list[SpecIssue] = []
    for i, item_id in enumerate(ids):
        if item_id in first:
            message = f"duplicate {noun} id {item_id!r} (first used by {field}[{first[item_id]}])"
            issues.append(SpecIssue((field, i, "id"), message))
        first.setdefault(item_id, i)
    return issues


def _graph_issues(tasks: Sequence[TaskSpecBase]) -> list[SpecIssue]:
    """Duplicate ids, unknown or self needs, then (on a well-formed graph) the first cycle."""
    issues = _duplicates("tasks", "task", [t.id for t in tasks])
    first = {t.id: i for i, t in enumerate(tasks)}  # exact once duplicates are ruled out
    for i, t in enumerate(tasks):
        for dep in t.needs:
            if dep == t.id:
                issues.append(SpecIssue(("tasks", i, "needs"), f"task {t.id!r} needs itself"))
            elif dep not in first:
                close = difflib.get_close_matches(dep, list(first), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                message = f"task {t.id!r} needs {dep!r}, which is not a task in this workflow"
                issues.append(SpecIssue(("tasks", i, "needs"), message + hint))
    if not issues:
        cycle, _ = _walk({t.id: t.needs for t in tasks})
        if cycle is not None:
            message = f"cycle: {' -> '.join(cycle)} (each task needs the next)"
            issues.append(SpecIssue(("tasks", first[cycle[0]], "needs"), message))
    return issues


def _walk(needs: Mapping[str, Sequence[str]]) -> tuple[list[str] | None, list[str]]:
    """Iterative DFS: the first cycle found (or None) and, on a DAG, a dependencies-first order.

    The cycle starts at its earliest task in file order, so the message is stable.
    """
    position = {tid: i for i, tid in enumerate(needs)}
    state: dict[str, int] = {}  # 1: on the current path, 2: fully explored
    order: list[str] = []
    for root in needs:
        if root in state:
            continue
        state[root], path, stack = 1, [root], [iter(needs[root])]
        while stack:
            for dep in stack[-1]:
                if dep not in needs or dep == path[-1]:
                    continue  # unknown and self needs are reported on their own
                if state.get(dep) == 1:
                    ring = path[path.index(dep) :]
                    start = min(range(len(ring)), key=lambda k: position[ring[k]])
                    ring = ring[start:] + ring[:start]
                    return [*ring, ring[0]], order
                if dep not in state:
                    state[dep] = 1
                    path.append(dep)
                    stack.append(iter(needs[dep]))
                    break
            else:
                order.append(path.pop())
                state[order[-1]] = 2
                stack.pop()
    return None, order
