"""The python operator: call `package.module:function` with the task's `args`, in a process of
its own.

The call runs in a child Python process (`actors.operators.python_child`), started like a shell
task's: its own process group, recorded, killed with the runtime that started it, run where the
run's tasks run with what they inherit (`runtui.domain.task_env`). So a task that crashes its
interpreter (`os.abort`, a segfault in an extension, exhausted memory) fails that attempt and
nothing else, a timeout really stops it (the process group is killed, as for a shell task), and
what the function prints is recorded as its output (stdout and stderr).

- The child imports with the runtime's module search path (so what the runtime could import,
  the task can): an import that fails, a missing attribute or a non-callable is `failed_init`.
- A coroutine function (or an awaitable result) is run with asyncio; anything else is called.
  The function gets `**args` (JSON: a task's args are TOML values) and nothing else.
- A return value that is a str is output; a dict may hold "output" (str or list of str) and
  "usage" (a dict of numbers). Output lines count for `::usage` like printed ones; anything
  else returned is ignored.
- An exception fails the attempt with "ExceptionType: message"; its traceback goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

from runtui.actors.operators.base import (
    STDOUT,
    AttemptContext,
    AttemptOutcome,
    OutputCollector,
    add_usage,
    time_label,
    wrong_spec,
)
from runtui.actors.operators.shell import exit_error, run_command, task_env
from runtui.domain.task_env import task_cwd
from runtui.domain.tasks import AttemptStatus
from runtui.domain.workflow import PythonTask

CHILD = Path(__file__).with_name("python_child.py")


class PythonOperator:
    async def execute(self, ctx: AttemptContext) -> AttemptOutcome:
        spec = ctx.spec
        if not isinstance(spec, PythonTask):
            return wrong_spec(ctx, PythonTask)
        out = OutputCollector(ctx.emit, scan=ctx.scan)
        with tempfile.TemporaryDirectory(prefix="runtui-py-") as scratch:
            request, result_path = Path(scratch) / "request.json", Path(scratch) / "result.json"
            payload = {
                "function": spec.function,
                "args": spec.args,
                "path": _module_path(),
            }
            await anyio.Path(request).write_text(json.dumps(payload), encoding="utf-8")
            # -P: the child's own directory is not put first on its module path
            result = await run_command(
                [sys.executable, "-P", str(CHILD), str(request), str(result_path)],
                env=task_env(ctx),
                cwd=task_cwd(ctx.run_env, None),
                out=out,
                timeout_s=ctx.timeout_s,
                on_spawn=ctx.on_spawn,
            )
            answer = _answer(result_path)
        if result.start_error is not None:
            return out.outcome(AttemptStatus.FAILED_INIT, error=result.start_error)
        if result.timed_out:
            assert ctx.timeout_s is not None
            return out.outcome(
                AttemptStatus.FAILED, error=f"timed out after {time_label(ctx.timeout_s)}"
            )
        if answer is None:  # the process died before it could answer
            code = result.returncode
            why = exit_error(code) if code is not None else "no answer"
            return out.outcome(
                AttemptStatus.FAILED, exit_code=code, error=f"the python process died: {why}"
            )
        if "init_error" in answer:
            return out.outcome(
                AttemptStatus.FAILED_INIT,
                error=f"cannot load function {spec.function!r}: {answer['init_error']}",
            )
        if "error" in answer:
            return out.outcome(AttemptStatus.FAILED, error=str(answer["error"]))
        await out.add_all(STDOUT, [str(line) for line in answer.get("lines", [])])
        await out.flush()
        add_usage(out.usage, {str(k): float(v) for k, v in answer.get("usage", {}).items()})
        return out.outcome(AttemptStatus.COMPLETED)


def _module_path() -> list[str]:
    """The runtime's module search path, absolute (the child runs in another directory)."""
    return [os.path.abspath(p) for p in sys.path]


def _answer(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
