"""What every operator shares: the attempt context, the outcome, output batching and usage.

An operator runs one attempt of one task and returns an `AttemptOutcome`; it never touches the
store. Output goes to `AttemptContext.emit` in batches (output is the hottest event kind, so one
event per line would swamp the writer): a stream's buffer is flushed when it holds
`BATCH_LINES` lines, when `BATCH_INTERVAL_S` has passed since that stream's last flush, and at
the end. Sink calls never overlap, so lines reach the sink in the order they were read.

Cancellation is never turned into an outcome: when the caller's cancel scope is cancelled the
operator cleans up (shielded) and re-raises, and the caller records `cancelled`.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import anyio
import msgspec

from runtui.domain.errors import InvalidInputError
from runtui.domain.events import ProcessGroupRef
from runtui.domain.policy_checks import OutputScan
from runtui.domain.task_env import RunEnvironment
from runtui.domain.tasks import AttemptStatus, TaskKind

OutputSink = Callable[[str, list[str]], Awaitable[None]]
"""(stream "stdout" | "stderr", lines) -> returns once the lines are handed on (persisted)."""

STDOUT = "stdout"
STDERR = "stderr"

BATCH_LINES = 64
BATCH_INTERVAL_S = 0.05
TAIL_LINES = 20
MAX_OUTPUT_LINES = 5000
MAX_OUTPUT_BYTES = 1 << 20

_USAGE_PREFIX = "::usage"
_USAGE_PAIR = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)=(\S+)$")


class AttemptContext(msgspec.Struct):
    """Everything an operator needs for one attempt: plain data plus the output sink."""

    run_id: str
    task_id: str
    attempt: int
    spec: Any  # the task's spec model (runtui.domain.workflow.ShellTask, PythonTask, ...)
    emit: OutputSink
    timeout_s: float | None = None
    idempotency_key: str = ""
    # told where the attempt's processes live once they exist (see `process_group`)
    on_spawn: Callable[[ProcessGroupRef], Awaitable[None]] | None = None
    # where the run's tasks run and what they inherit (`runtui.domain.task_env`)
    run_env: RunEnvironment | None = None
    # the run's content and PII policies, fed every output line as it comes
    scan: OutputScan | None = None


class AttemptOutcome(msgspec.Struct, frozen=True):
    """How an attempt ended (or, for external tasks, that it now waits on a job elsewhere)."""

    status: AttemptStatus
    exit_code: int | None = None
    error: str | None = None
    output_tail: str | None = None  # the last <= TAIL_LINES lines, joined by "\n"
    output: list[str] = []  # every line, capped (the newest kept), for custom rules
    usage: dict[str, float] = {}  # summed from `::usage key=number ...` lines
    external_id: str | None = None
    # content/PII policy id → why it matched, from a scan of every line as it came;
    # None: the output was not scanned on its way (governance scans `output` instead)
    findings: dict[str, str] | None = None


class Operator(Protocol):
    async def execute(self, ctx: AttemptContext) -> AttemptOutcome: ...


class NoOperatorError(InvalidInputError, KeyError):
    """A task kind that has no operator (a gate, or an unknown kind)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_REGISTRY: dict[TaskKind, Operator] = {}


def operator_for(kind: TaskKind | str) -> Operator:
    """The operator that executes tasks of `kind`. Operators are stateless and shared.

    Raises `NoOperatorError` (a KeyError and a ValueError) for `gate`, which is a human
    approval that the runtime handles itself, and for unknown kinds.
    """
    try:
        task_kind = TaskKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in TaskKind)
        raise NoOperatorError(f"unknown task kind {kind!r} (known: {known})") from None
    if task_kind is TaskKind.GATE:
        raise NoOperatorError(
            "gate tasks have no operator: a gate is a human approval, handled by the runtime"
        )
    if not _REGISTRY:
        # Imported here: the operator modules import this one.
        from runtui.actors.operators.driven import DrivenOperator
        from runtui.actors.operators.external import ExternalOperator
        from runtui.actors.operators.python_call import PythonOperator
        from runtui.actors.operators.shell import ShellOperator
        from runtui.actors.operators.simple import NoopOperator, SleepOperator

        _REGISTRY.update(
            {
                TaskKind.SHELL: ShellOperator(),
                TaskKind.PYTHON: PythonOperator(),
                TaskKind.EXTERNAL: ExternalOperator(),
                TaskKind.NOOP: NoopOperator(),
                TaskKind.SLEEP: SleepOperator(),
                TaskKind.DRIVEN: DrivenOperator(),
            }
        )
    return _REGISTRY[task_kind]


def parse_usage_line(line: str) -> dict[str, float] | None:
    """`::usage tokens=120 cost=0.003` -> {"tokens": 120.0, "cost": 0.003}.

    Any `key=number` pair counts; pairs that are not one (or not finite) are ignored. A line
    that is not a usage line, or one without a single valid pair, gives None.
    """
    text = line.strip()
    if not text.startswith(_USAGE_PREFIX):
        return None
    rest = text[len(_USAGE_PREFIX) :]
    if rest and not rest[0].isspace():
        return None  # e.g. "::usagefoo=1"
    found: dict[str, float] = {}
    for word in rest.split():
        match = _USAGE_PAIR.match(word)
        if match is None:
            continue
        try:
            value = float(match.group(2))
        except ValueError:
            continue
        if math.isfinite(value):
            found[match.group(1)] = found.get(match.group(1), 0.0) + value
    return found or None


def add_usage(total: dict[str, float], more: dict[str, float]) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0.0) + value


def wrong_spec(ctx: AttemptContext, expected: type) -> AttemptOutcome:
    got = type(ctx.spec).__name__
    return AttemptOutcome(
        status=AttemptStatus.FAILED_INIT,
        error=f"task {ctx.task_id!r}: expected a {expected.__name__} spec, got {got}",
    )


def time_label(seconds: float) -> str:
    return f"{seconds:g}s"


class OutputCollector:
    """Batches lines to a sink per stream; keeps the tail, the capped output and the usage.

    `emit=None` collects without emitting (used for poll commands). The first flush of a
    stream is due `batch_interval_s` after the collector was created.
    """

    def __init__(
        self,
        emit: OutputSink | None,
        *,
        batch_lines: int = BATCH_LINES,
        batch_interval_s: float = BATCH_INTERVAL_S,
        keep_streams: bool = False,
        scan: OutputScan | None = None,
    ) -> None:
        self._emit = emit
        self._scan = scan
        self._batch_lines = batch_lines
        self._interval = batch_interval_s
        self._buffers: dict[str, list[str]] = {}
        self._created = anyio.current_time()
        self._last_flush: dict[str, float] = {}
        # uncapped, per stream: only for short commands whose output is parsed (submit, poll)
        self.by_stream: dict[str, list[str]] | None = {} if keep_streams else None
        self._lock = anyio.Lock()
        self._output: deque[str] = deque()
        self._output_bytes = 0
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.usage: dict[str, float] = {}
        self.dropped = 0  # lines dropped from `output` by the caps (they were still emitted)

    async def add(self, stream: str, line: str) -> None:
        """Record one line; flush the stream's buffer when it is full or old enough."""
        self._record(stream, line)
        if self.by_stream is not None:
            self.by_stream.setdefault(stream, []).append(line)
        buffer = self._buffers.setdefault(stream, [])
        buffer.append(line)
        if len(buffer) >= self._batch_lines or self.due_in(stream) == 0.0:
            await self.flush(stream)

    async def add_all(self, stream: str, lines: Iterable[str]) -> None:
        for line in lines:
            await self.add(stream, line)

    def due_in(self, stream: str) -> float | None:
        """Seconds until the stream's buffered lines must be flushed; None when it is empty."""
        if not self._buffers.get(stream):
            return None
        since = anyio.current_time() - self._last_flush.get(stream, self._created)
        return max(0.0, self._interval - since)

    async def flush(self, stream: str | None = None) -> None:
        """Send what is buffered (one stream, or all of them)."""
        streams = [stream] if stream is not None else list(self._buffers)
        for name in streams:
            lines = self._buffers.get(name)
            self._last_flush[name] = anyio.current_time()
            if not lines:
                continue
            self._buffers[name] = []
            if self._emit is not None:
                async with self._lock:
                    await self._emit(name, lines)

    def _record(self, stream: str, line: str) -> None:
        if self._scan is not None:
            self._scan.feed(line, stream)
        parsed = parse_usage_line(line) if _USAGE_PREFIX in line else None
        if parsed:
            add_usage(self.usage, parsed)
        self._tail.append(line)
        self._output.append(line)
        self._output_bytes += _size(line)
        while len(self._output) > 1 and (
            len(self._output) > MAX_OUTPUT_LINES or self._output_bytes > MAX_OUTPUT_BYTES
        ):
            self._output_bytes -= _size(self._output.popleft())
            self.dropped += 1

    @property
    def output(self) -> list[str]:
        return list(self._output)

    @property
    def tail(self) -> str | None:
        return "\n".join(self._tail) if self._tail else None

    def outcome(
        self,
        status: AttemptStatus,
        *,
        exit_code: int | None = None,
        error: str | None = None,
        external_id: str | None = None,
    ) -> AttemptOutcome:
        return AttemptOutcome(
            status=status,
            exit_code=exit_code,
            error=error,
            output_tail=self.tail,
            output=self.output,
            usage=dict(self.usage),
            external_id=external_id,
            findings=dict(self._scan.found) if self._scan is not None else None,
        )


def _size(line: str) -> int:
    return len(line.encode("utf-8", "surrogatepass")) + 1
