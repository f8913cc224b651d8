"""The external operator: a job that runs elsewhere (batch scheduler, CI), submitted then polled.

`execute` runs `submit` with /bin/sh (output streamed like a shell task). The job id is the last
non-empty line it prints on stdout, trimmed (the contract `ExternalTask` documents). A submit
that cannot start, times out, exits non-zero or prints no id is `failed_init`: the job never
started. Otherwise the attempt is `waiting_external` with `external_id` set; the poller then
calls `poll_external` every `poll_interval_s`.

`poll_external` runs `poll` with `{job_id}` replaced by the shell-quoted id and reads the first
word of the last non-empty stdout line, case-insensitively: running / pending / queued ->
"running"; done / succeeded / success / completed -> "done"; failed / error -> "failed".
Anything else, no output, a non-zero exit, a poll that cannot start or that exceeds its own
timeout is "failed", with the reason as the last line returned.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from runtui.actors.operators.base import (
    STDOUT,
    AttemptContext,
    AttemptOutcome,
    OutputCollector,
    time_label,
    wrong_spec,
)
from runtui.actors.operators.shell import KILL_GRACE_S, exit_error, run_command, task_env
from runtui.domain.task_env import NEVER_PREFIX, RunEnvironment, task_cwd
from runtui.domain.tasks import AttemptStatus
from runtui.domain.workflow import ExternalTask

PollState = Literal["running", "done", "failed"]

POLL_TIMEOUT_S = 60.0

_POLL_WORDS: dict[str, PollState] = {
    "running": "running",
    "pending": "running",
    "queued": "running",
    "done": "done",
    "succeeded": "done",
    "success": "done",
    "completed": "done",
    "failed": "failed",
    "error": "failed",
}


def _last_non_empty(lines: list[str]) -> str:
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


class ExternalOperator:
    def __init__(self, kill_grace_s: float = KILL_GRACE_S) -> None:
        self.kill_grace_s = kill_grace_s

    async def execute(self, ctx: AttemptContext) -> AttemptOutcome:
        spec = ctx.spec
        if not isinstance(spec, ExternalTask):
            return wrong_spec(ctx, ExternalTask)
        out = OutputCollector(ctx.emit, keep_streams=True)
        result = await run_command(
            spec.submit,
            env=task_env(ctx),
            cwd=task_cwd(ctx.run_env, None),
            out=out,
            timeout_s=ctx.timeout_s,
            kill_grace_s=self.kill_grace_s,
            keep_leftovers=True,  # submit may start the job itself, in the background
        )
        failed_init = AttemptStatus.FAILED_INIT
        if result.start_error is not None:
            return out.outcome(failed_init, error=f"submit: {result.start_error}")
        if result.timed_out:
            assert ctx.timeout_s is not None
            return out.outcome(
                failed_init,
                exit_code=result.returncode,
                error=f"submit timed out after {time_label(ctx.timeout_s)}",
            )
        assert result.returncode is not None
        if result.returncode != 0:
            return out.outcome(
                failed_init,
                exit_code=result.returncode,
                error=f"submit failed: {exit_error(result.returncode)}",
            )
        assert out.by_stream is not None
        job_id = _last_non_empty(out.by_stream.get(STDOUT, []))
        if not job_id:
            return out.outcome(failed_init, exit_code=0, error="submit printed no job id")
        return out.outcome(AttemptStatus.WAITING_EXTERNAL, exit_code=0, external_id=job_id)


async def poll_external(
    spec: ExternalTask,
    external_id: str,
    *,
    timeout_s: float | None = POLL_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
    run_env: RunEnvironment | None = None,
) -> tuple[PollState, list[str]]:
    """Run the task's `poll` for one job: its state and every line it printed (see above).

    It runs where the run's tasks run, with what they inherit (`runtui.domain.task_env`), plus
    `env`; RUNTUI_JOB_ID is always set to the job id.
    """
    out = OutputCollector(None, keep_streams=True)
    if run_env is not None:
        full_env = dict(run_env.env)
    else:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(NEVER_PREFIX)}
    if env:
        full_env.update(env)
    full_env["RUNTUI_JOB_ID"] = external_id
    result = await run_command(
        spec.poll_command(external_id),
        env=full_env,
        cwd=task_cwd(run_env, None),
        out=out,
        timeout_s=timeout_s,
    )
    lines = out.output
    if result.start_error is not None:
        return "failed", [*lines, f"poll: {result.start_error}"]
    if result.timed_out:
        assert timeout_s is not None
        return "failed", [*lines, f"poll timed out after {time_label(timeout_s)}"]
    assert result.returncode is not None
    if result.returncode != 0:
        return "failed", [*lines, f"poll failed: {exit_error(result.returncode)}"]
    assert out.by_stream is not None
    last = _last_non_empty(out.by_stream.get(STDOUT, []))
    if not last:
        return "failed", [*lines, "poll printed nothing"]
    word = last.split()[0].strip(".,:;!").lower()
    state = _POLL_WORDS.get(word)
    if state is None:
        expected = "running, pending, queued, done, succeeded, success, completed, failed, error"
        return "failed", [*lines, f"poll printed an unknown status {last!r} (expected {expected})"]
    return state, lines
