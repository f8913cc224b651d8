"""Task operators against real subprocesses, real imports and real files.

Nothing here sleeps to synchronise: tests wait on the process (its outcome), on a file the
process writes, or on an event set by the output sink. Sleeps only happen inside children.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtui.actors.operators import (
    AttemptContext,
    AttemptOutcome,
    ExternalOperator,
    NoOperatorError,
    NoopOperator,
    PythonOperator,
    ShellOperator,
    SleepOperator,
    operator_for,
    parse_usage_line,
    poll_external,
)
from runtui.domain.tasks import AttemptStatus, TaskKind
from runtui.domain.workflow import (
    ExternalTask,
    NoopTask,
    PythonTask,
    ShellTask,
    SleepTask,
)

pytestmark = pytest.mark.anyio


class Sink:
    """Records every call the operator makes to `emit`; can fire an event on a given line."""

    def __init__(self, wake_on: str | None = None, touch: Path | None = None) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.wake_on = wake_on
        self.touch = touch
        self.woken = anyio.Event()

    async def emit(self, stream: str, lines: list[str]) -> None:
        self.calls.append((stream, list(lines)))
        if self.wake_on is not None and self.wake_on in lines:
            if self.touch is not None:
                self.touch.write_text("go")
            self.woken.set()

    def lines(self, stream: str = "stdout") -> list[str]:
        return [line for s, batch in self.calls if s == stream for line in batch]


def make_ctx(spec: Any, sink: Sink, timeout_s: float | None = None) -> AttemptContext:
    return AttemptContext(
        run_id="run-1",
        task_id=spec.id,
        attempt=2,
        spec=spec,
        emit=sink.emit,
        timeout_s=timeout_s,
        idempotency_key=f"run-1:{spec.id}:2",
    )


async def run_shell(
    cmd: str, timeout_s: float | None = None, **fields: Any
) -> tuple[AttemptOutcome, Sink]:
    sink = Sink()
    spec = ShellTask(id="sh", cmd=cmd, **fields)
    outcome = await ShellOperator().execute(make_ctx(spec, sink, timeout_s))
    return outcome, sink


def gone(pid: int) -> bool:
    """True when the process no longer runs (reaped, or a zombie nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def dies(pid: int, within_s: float = 5.0) -> bool:
    """Whether `pid` exits within `within_s` (SIGKILL is delivered asynchronously, so the
    process may still show for a moment after its group was signalled); waits on a pidfd."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        with anyio.move_on_after(within_s):
            await anyio.wait_readable(fd)  # a pidfd turns readable when the process exits
            return True
        return gone(pid)
    finally:
        os.close(fd)


# --- usage parsing ---------------------------------------------------------------------------


def test_parse_usage_line() -> None:
    assert parse_usage_line("::usage tokens=120 cost=0.003") == {"tokens": 120.0, "cost": 0.003}
    assert parse_usage_line("  ::usage tokens=5  ") == {"tokens": 5.0}
    assert parse_usage_line("::usage cost=1e-3 calls=2 note=text junk") == {
        "cost": 0.001,
        "calls": 2.0,
    }
    assert parse_usage_line("::usage tokens=nan") is None
    assert parse_usage_line("::usage") is None
    assert parse_usage_line("::usagetokens=1") is None
    assert parse_usage_line("tokens=5") is None
    assert parse_usage_line("echo ::usage tokens=5") is None


# --- registry --------------------------------------------------------------------------------


def test_operator_for_each_kind() -> None:
    assert isinstance(operator_for(TaskKind.SHELL), ShellOperator)
    assert isinstance(operator_for("python"), PythonOperator)
    assert isinstance(operator_for(TaskKind.EXTERNAL), ExternalOperator)
    assert isinstance(operator_for(TaskKind.NOOP), NoopOperator)
    assert isinstance(operator_for(TaskKind.SLEEP), SleepOperator)
    assert operator_for(TaskKind.SHELL) is operator_for("shell")


def test_gate_and_unknown_kinds_have_no_operator() -> None:
    with pytest.raises(KeyError, match="gate tasks have no operator"):
        operator_for(TaskKind.GATE)
    with pytest.raises(ValueError, match="gate tasks have no operator"):
        operator_for("gate")
    with pytest.raises(NoOperatorError, match="unknown task kind 'docker'"):
        operator_for("docker")


async def test_wrong_spec_is_failed_init() -> None:
    sink = Sink()
    outcome = await ShellOperator().execute(make_ctx(NoopTask(id="n"), sink))
    assert outcome.status is AttemptStatus.FAILED_INIT
    assert outcome.error == "task 'n': expected a ShellTask spec, got NoopTask"


# --- shell -----------------------------------------------------------------------------------


async def test_shell_success_streams_lines_in_batches() -> None:
    outcome, sink = await run_shell("i=1; while [ $i -le 500 ]; do echo line $i; i=$((i+1)); done")
    expected = [f"line {i}" for i in range(1, 501)]
    assert outcome.status is AttemptStatus.COMPLETED
    assert outcome.exit_code == 0
    assert outcome.error is None
    assert sink.lines() == expected
    assert all(stream == "stdout" for stream, _ in sink.calls)
    assert len(sink.calls) < len(expected) / 10
    assert all(len(batch) <= 64 for _, batch in sink.calls)
    assert outcome.output == expected
    assert outcome.output_tail == "\n".join(expected[-20:])
    assert outcome.usage == {}


async def test_shell_flushes_an_idle_batch_while_the_process_runs(tmp_path: Path) -> None:
    # The child waits until the sink has seen its first line: if batches were only flushed on
    # the next line or at the end, it would wait for ever (it gives up after ~10 s, failing).
    release = tmp_path / "release"
    sink = Sink(wake_on="first", touch=release)
    cmd = (
        f"echo first; n=0; while [ ! -f {shlex.quote(str(release))} ]; do "
        "n=$((n+1)); [ $n -gt 1000 ] && exit 7; sleep 0.01; done; echo second"
    )
    outcome = await ShellOperator().execute(make_ctx(ShellTask(id="sh", cmd=cmd), sink))
    assert outcome.status is AttemptStatus.COMPLETED, outcome.error
    assert sink.calls[0] == ("stdout", ["first"])
    assert sink.lines() == ["first", "second"]


async def test_shell_captures_stderr_as_its_own_stream() -> None:
    outcome, sink = await run_shell("echo out; echo err >&2; echo err2 >&2")
    assert outcome.status is AttemptStatus.COMPLETED
    assert sink.lines("stdout") == ["out"]
    assert sink.lines("stderr") == ["err", "err2"]
    assert sorted(outcome.output) == ["err", "err2", "out"]


async def test_shell_non_zero_exit_fails_with_the_code() -> None:
    outcome, _ = await run_shell("echo about to fail; echo why >&2; exit 3")
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.exit_code == 3
    assert outcome.error == "exit code 3"
    assert outcome.output_tail is not None
    assert set(outcome.output_tail.splitlines()) == {"about to fail", "why"}


async def test_shell_killed_by_a_signal() -> None:
    outcome, _ = await run_shell("kill -9 $$")
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.exit_code == -9
    assert outcome.error == "killed by signal SIGKILL"


async def test_shell_usage_lines_are_summed_and_still_output() -> None:
    outcome, sink = await run_shell(
        "echo '::usage tokens=100 cost=0.25'; echo working; "
        "echo '::usage tokens=20'; echo '::usage cost=0.5 calls=3' >&2"
    )
    assert outcome.status is AttemptStatus.COMPLETED
    assert outcome.usage == {"tokens": 120.0, "cost": 0.75, "calls": 3.0}
    assert "::usage tokens=20" in sink.lines()
    assert sink.lines("stderr") == ["::usage cost=0.5 calls=3"]


async def test_shell_env_and_cwd(tmp_path: Path) -> None:
    outcome, sink = await run_shell(
        'echo "$GREETING|$RUNTUI_RUN_ID|$RUNTUI_TASK_ID|$RUNTUI_ATTEMPT|$RUNTUI_IDEMPOTENCY_KEY"; '
        'echo "$PATH" | grep -q . && pwd',
        env={"GREETING": "hello world"},
        cwd=str(tmp_path),
    )
    assert outcome.status is AttemptStatus.COMPLETED
    assert sink.lines() == ["hello world|run-1|sh|2|run-1:sh:2", str(tmp_path)]


async def test_shell_decoding_and_partial_last_line() -> None:
    outcome, sink = await run_shell(r"printf 'caf\303\251\n\377bad\r\nno newline'")
    assert outcome.status is AttemptStatus.COMPLETED
    assert sink.lines() == ["café", "\ufffdbad", "no newline"]


async def test_shell_output_is_capped_keeping_the_newest() -> None:
    outcome, sink = await run_shell("seq 1 6000")
    assert len(sink.lines()) == 6000
    assert len(outcome.output) == 5000
    assert outcome.output[0] == "1001"
    assert outcome.output[-1] == "6000"


async def test_shell_that_cannot_start_is_failed_init(tmp_path: Path) -> None:
    outcome, _ = await run_shell("echo hi", cwd=str(tmp_path / "missing"))
    assert outcome.status is AttemptStatus.FAILED_INIT
    assert outcome.error is not None
    assert outcome.error.startswith("cannot start in")


async def test_shell_timeout_kills_the_process_quickly() -> None:
    started = time.monotonic()
    outcome, _ = await run_shell("echo before; sleep 30", timeout_s=0.3)
    assert time.monotonic() - started < 5
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.error == "timed out after 0.3s"
    assert outcome.output == ["before"]


async def test_shell_timeout_kills_grandchildren(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    outcome, _ = await run_shell(
        f"sleep 30 & echo $! > {shlex.quote(str(pidfile))}; wait", timeout_s=0.5
    )
    assert time.monotonic() - started < 5
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.error == "timed out after 0.5s"
    # The grandchild held the output pipes: the attempt only ended once it was dead.
    assert await dies(int(pidfile.read_text()))


async def test_shell_timeout_escalates_to_sigkill_when_sigterm_is_ignored() -> None:
    sink = Sink()
    spec = ShellTask(id="sh", cmd="trap '' TERM; sleep 30")
    started = time.monotonic()
    outcome = await ShellOperator(kill_grace_s=0.2).execute(make_ctx(spec, sink, 0.2))
    assert time.monotonic() - started < 5
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.error == "timed out after 0.2s"
    assert outcome.exit_code == -9


async def test_shell_kills_what_a_finished_task_left_running(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    outcome, _ = await run_shell(f"sleep 30 & echo $! > {shlex.quote(str(pidfile))}; echo done")
    assert time.monotonic() - started < 5
    assert outcome.status is AttemptStatus.COMPLETED
    assert outcome.output == ["done"]
    assert await dies(int(pidfile.read_text()))


async def test_shell_cancellation_kills_the_process_and_propagates(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    sink = Sink(wake_on="started")
    spec = ShellTask(id="sh", cmd=f"echo $$ > {shlex.quote(str(pidfile))}; echo started; sleep 30")
    outcomes: list[AttemptOutcome] = []
    propagated = anyio.Event()

    async def attempt() -> None:
        try:
            outcomes.append(await ShellOperator().execute(make_ctx(spec, sink)))
        except anyio.get_cancelled_exc_class():
            propagated.set()
            raise

    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        tg.start_soon(attempt)
        await sink.woken.wait()
        tg.cancel_scope.cancel()
    assert time.monotonic() - started < 5
    assert propagated.is_set()
    assert outcomes == []
    assert await dies(int(pidfile.read_text()))


async def test_shell_sink_error_propagates_unwrapped_and_kills_the_process(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "pid"

    async def broken_sink(stream: str, lines: list[str]) -> None:
        raise RuntimeError("writer gone")

    spec = ShellTask(id="sh", cmd=f"echo $$ > {shlex.quote(str(pidfile))}; echo hi; sleep 30")
    ctx = make_ctx(spec, Sink())
    ctx.emit = broken_sink
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="writer gone"):
        await ShellOperator().execute(ctx)
    assert time.monotonic() - started < 5
    assert await dies(int(pidfile.read_text()))


# --- python ----------------------------------------------------------------------------------


async def run_python(
    function: str, args: dict[str, Any] | None = None, timeout_s: float | None = None
) -> tuple[AttemptOutcome, Sink]:
    sink = Sink()
    spec = PythonTask(id="py", function=function, args=args or {})
    outcome = await PythonOperator().execute(make_ctx(spec, sink, timeout_s))
    return outcome, sink


async def test_python_sync_function_output_and_usage_dict() -> None:
    outcome, sink = await run_python("tests.actors.pyfuncs:sync_report", {"n": 3, "label": "x"})
    assert outcome.status is AttemptStatus.COMPLETED, outcome.error
    assert sink.lines() == ["x 0", "x 1", "x 2"]
    assert outcome.output == ["x 0", "x 1", "x 2"]
    assert outcome.output_tail == "x 0\nx 1\nx 2"
    assert outcome.usage == {"tokens": 30.0, "cost": 0.5}


async def test_python_async_function_returning_text() -> None:
    outcome, sink = await run_python("tests.actors.pyfuncs:async_text", {"name": "ada"})
    assert outcome.status is AttemptStatus.COMPLETED, outcome.error
    assert sink.lines() == ["hello ada", "second line", "::usage tokens=7"]
    assert outcome.usage == {"tokens": 7.0}


async def test_python_none_result_completes_without_output() -> None:
    outcome, sink = await run_python("tests.actors.pyfuncs:returns_nothing")
    assert outcome.status is AttemptStatus.COMPLETED
    assert sink.calls == []
    assert outcome.output_tail is None


@pytest.mark.parametrize(
    ("function", "args", "error"),
    [
        ("tests.actors.pyfuncs:raises", {"message": "boom"}, "ValueError: boom"),
        ("tests.actors.pyfuncs:async_raises", {}, "RuntimeError: async boom"),
        ("tests.actors.pyfuncs:sync_report", {"wrong": 1}, "TypeError: "),
    ],
)
async def test_python_exception_fails_with_type_and_message(
    function: str, args: dict[str, Any], error: str
) -> None:
    outcome, sink = await run_python(function, args)
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.error is not None
    assert outcome.error.startswith(error)
    assert sink.lines("stderr")[0] == "Traceback (most recent call last):"
    assert sink.lines("stderr")[-1] == outcome.error


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        ("tests.actors.no_such_module:f", "ModuleNotFoundError"),
        ("tests.actors.pyfuncs:no_such_function", "AttributeError"),
        ("tests.actors.pyfuncs:NOT_A_FUNCTION", "TypeError"),
    ],
)
async def test_python_bad_reference_is_failed_init(function: str, reason: str) -> None:
    outcome, _ = await run_python(function)
    assert outcome.status is AttemptStatus.FAILED_INIT
    assert outcome.error is not None
    assert outcome.error.startswith(f"cannot load function {function!r}: {reason}")


async def test_python_async_timeout() -> None:
    outcome, _ = await run_python("tests.actors.pyfuncs:async_forever", timeout_s=0.2)
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.error == "timed out after 0.2s"


async def test_python_sync_timeout_stops_the_call(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    outcome, _ = await run_python(
        "tests.actors.pyfuncs:sleep_recording_pid", {"path": str(pid_file)}, timeout_s=0.5
    )
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.error == "timed out after 0.5s"
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # its process is gone, not abandoned
        os.kill(pid, 0)


async def test_python_prints_are_output() -> None:
    outcome, sink = await run_python("tests.actors.pyfuncs:prints_and_returns")
    assert outcome.status is AttemptStatus.COMPLETED, outcome.error
    assert sink.lines("stdout") == ["printed to stdout", "returned"]
    assert sink.lines("stderr") == ["printed to stderr"]


async def test_python_that_kills_its_interpreter_fails_only_the_attempt() -> None:
    outcome, _ = await run_python("tests.actors.pyfuncs:aborts")
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.error == "the python process died: killed by signal SIGABRT"


# --- external --------------------------------------------------------------------------------


def external_job(tmp_path: Path) -> ExternalTask:
    """A fake scheduler: submit writes a counter file; each poll bumps it, done at the 3rd."""
    jobs = shlex.quote(str(tmp_path))
    return ExternalTask(
        id="ext",
        submit=f"echo submitting >&2; echo 0 > {jobs}/'job 7'; echo; echo 'job 7'",
        poll=(
            f'f={jobs}/{{job_id}}; n=$(cat "$f"); echo $((n+1)) > "$f"; '
            'echo "poll $n" >&2; if [ "$n" -ge 2 ]; then echo DONE; else echo queued; fi'
        ),
        poll_interval_s=0.1,
    )


async def test_external_submit_then_poll_until_done(tmp_path: Path) -> None:
    spec = external_job(tmp_path)
    sink = Sink()
    outcome = await ExternalOperator().execute(make_ctx(spec, sink))
    assert outcome.status is AttemptStatus.WAITING_EXTERNAL, outcome.error
    assert outcome.external_id == "job 7"
    assert sink.lines("stderr") == ["submitting"]
    assert (tmp_path / "job 7").read_text() == "0\n"

    states = []
    for _ in range(3):
        state, lines = await poll_external(spec, "job 7")
        states.append(state)
    assert states == ["running", "running", "done"]
    assert sorted(lines) == ["DONE", "poll 2"]


async def test_external_poll_failures(tmp_path: Path) -> None:
    def spec(poll: str) -> ExternalTask:
        return ExternalTask(id="ext", submit="echo 1", poll=poll)

    assert await poll_external(spec("echo Failed: out of memory"), "1") == (
        "failed",
        ["Failed: out of memory"],
    )
    state, lines = await poll_external(spec("echo running; exit 2"), "1")
    assert (state, lines[-1]) == ("failed", "poll failed: exit code 2")
    state, lines = await poll_external(spec("echo 'weird state'"), "1")
    assert state == "failed"
    assert lines[0] == "weird state"
    assert lines[-1].startswith("poll printed an unknown status 'weird state'")
    state, lines = await poll_external(spec("true"), "1")
    assert (state, lines) == ("failed", ["poll printed nothing"])
    state, lines = await poll_external(spec("sleep 30"), "1", timeout_s=0.2)
    assert (state, lines) == ("failed", ["poll timed out after 0.2s"])
    state, _ = await poll_external(spec("echo {job_id}; echo success"), "a'b; rm -rf /")
    assert state == "done"


async def test_external_poll_quotes_the_job_id(tmp_path: Path) -> None:
    spec = ExternalTask(id="ext", submit="echo 1", poll="printf '%s\\n' {job_id}; echo done")
    state, lines = await poll_external(spec, "a b'; echo injected")
    assert state == "done"
    assert lines == ["a b'; echo injected", "done"]


@pytest.mark.parametrize(
    ("submit", "error"),
    [
        ("echo 'no scheduler' >&2; exit 4", "submit failed: exit code 4"),
        ("echo; echo '   '", "submit printed no job id"),
    ],
)
async def test_external_submit_failure_is_failed_init(submit: str, error: str) -> None:
    spec = ExternalTask(id="ext", submit=submit, poll="echo done")
    outcome = await ExternalOperator().execute(make_ctx(spec, Sink()))
    assert outcome.status is AttemptStatus.FAILED_INIT
    assert outcome.error == error
    assert outcome.external_id is None


# --- noop and sleep --------------------------------------------------------------------------


async def test_noop_completes() -> None:
    outcome = await NoopOperator().execute(make_ctx(NoopTask(id="n"), Sink()))
    assert outcome == AttemptOutcome(status=AttemptStatus.COMPLETED)


async def test_sleep_completes() -> None:
    outcome = await SleepOperator().execute(make_ctx(SleepTask(id="s", seconds=0.01), Sink()))
    assert outcome.status is AttemptStatus.COMPLETED


async def test_sleep_timeout_and_cancellation() -> None:
    spec = SleepTask(id="s", seconds=30)
    outcome = await SleepOperator().execute(make_ctx(spec, Sink(), timeout_s=0.05))
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.error == "timed out after 0.05s"

    outcomes: list[AttemptOutcome] = []
    with anyio.move_on_after(0.05) as scope:
        outcomes.append(await SleepOperator().execute(make_ctx(spec, Sink())))
    assert scope.cancelled_caught
    assert outcomes == []
