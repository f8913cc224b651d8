"""The python operator: call `package.module:function` with the task's `args`.

- The module is imported in a worker thread (a slow import must not freeze the event loop);
  an import that fails, a missing attribute or a non-callable gives `failed_init`.
- A coroutine function is awaited on the event loop; anything else runs in a worker thread
  (`anyio.to_thread.run_sync`). The function gets `**args` (a deep copy: specs are shared
  between attempts) and nothing else.
- A return value that is a str is output; a dict may hold "output" (str or list of str) and
  "usage" (a dict of numbers). Output lines go to the sink as stdout (`::usage` lines among them
  count too); anything else returned is ignored. What the function prints is not captured.
- An exception fails the attempt with "ExceptionType: message"; its traceback goes to the sink
  as stderr.
- Timeout: an async function is cancelled. A sync one cannot be: Python has no way to stop a
  thread, so the attempt fails on time but the thread is abandoned and runs on in the background
  (its result is discarded). The same holds when the caller's scope is cancelled.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import math
import traceback
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread

from actors.operators.base import (
    STDERR,
    STDOUT,
    AttemptContext,
    AttemptOutcome,
    OutputCollector,
    add_usage,
    time_label,
    wrong_spec,
)
from runtui.domain.tasks import AttemptStatus
from runtui.domain.workflow import PythonTask


def resolve_function(ref: str) -> Callable[..., Any]:
    """Import `package.module:attr.path` and return the callable it names."""
    module_name, sep, qualname = ref.partition(":")
    if not sep or not module_name or not qualname:
        raise ValueError("expected 'package.module:function'")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{qualname} is a {type(target).__name__}, not a function")
    return target  # type: ignore[no-any-return]


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class PythonOperator:
    async def execute(self, ctx: AttemptContext) -> AttemptOutcome:
        spec = ctx.spec
        if not isinstance(spec, PythonTask):
            return wrong_spec(ctx, PythonTask)
        out = OutputCollector(ctx.emit)
        try:
            func = await anyio.to_thread.run_sync(resolve_function, spec.function)
        except Exception as exc:
            return out.outcome(
                AttemptStatus.FAILED_INIT,
                error=f"cannot load function {spec.function!r}: {describe(exc)}",
            )

        args = copy.deepcopy(spec.args)
        result: Any = None
        finished = False
        try:
            with anyio.move_on_after(ctx.timeout_s):
                result = await _call(func, args)
                finished = True
        except (Exception, SystemExit) as exc:
            trace = "".join(traceback.format_exception(exc)).splitlines()
            await out.add_all(STDERR, trace)
            await out.flush()
            return out.outcome(AttemptStatus.FAILED, error=describe(exc))

        if not finished:
            assert ctx.timeout_s is not None
            error = f"timed out after {time_label(ctx.timeout_s)}"
            if not inspect.iscoroutinefunction(func):
                error += " (the worker thread cannot be stopped; it was abandoned)"
            await out.flush()
            return out.outcome(AttemptStatus.FAILED, error=error)

        lines, usage = _read_result(result)
        await out.add_all(STDOUT, lines)
        await out.flush()
        add_usage(out.usage, usage)
        return out.outcome(AttemptStatus.COMPLETED)


async def _call(func: Callable[..., Any], args: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(func):
        return await func(**args)
    result = await anyio.to_thread.run_sync(functools.partial(func, **args), abandon_on_cancel=True)
    if inspect.isawaitable(result):  # e.g. an object whose __call__ is async
        result = await result
    return result


def _read_result(result: Any) -> tuple[list[str], dict[str, float]]:
    output: Any = result
    usage: dict[str, float] = {}
    if isinstance(result, dict):
        output = result.get("output")
        raw_usage = result.get("usage")
        if isinstance(raw_usage, dict):
            for key, value in raw_usage.items():
                if (
                    isinstance(value, int | float)
                    and not isinstance(value, bool)
                    and math.isfinite(value)
                ):
                    usage[str(key)] = float(value)
    lines: list[str] = []
    if isinstance(output, str):
        lines = output.splitlines()
    elif isinstance(output, list | tuple):
        for item in output:
            lines.extend(str(item).splitlines() or [""])
    return lines, usage
