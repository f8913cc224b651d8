"""The process a python task runs in: `python python_child.py REQUEST RESULT`.

Run by the python operator (`actors.operators.python_call`), never imported by the runtime: it
uses the standard library only, so it starts as fast as Python does. REQUEST is a JSON file
{"function": "package.module:attr", "args": {...}, "path": [sys.path entries]}; this program
imports the function, calls it with `**args` (a coroutine function, or an awaitable result, is
run with asyncio), and writes RESULT, a JSON object, exactly once:

- {"init_error": "..."}: the function could not be loaded (import, attribute, not callable);
- {"error": "Type: message"}: the call raised (the traceback is printed to stderr);
- {"lines": [...], "usage": {...}}: what the function returned, read as the operator documents.

What the function prints goes to this process's stdout and stderr, which the operator records as
the task's output. `RUNTUI_IN_TASK` is set here (`runtui.opening.IN_TASK`): a module whose top
level opens a runtime (a script that defines its own tasks) fails to import, saying why, rather
than starting a second runtime inside its own task.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import math
import os
import sys
import traceback
from typing import Any


def resolve_function(ref: str) -> Any:
    """Import `package.module:attr.path` and return the callable it names."""
    module_name, sep, qualname = ref.partition(":")
    if not sep or not module_name or not qualname:
        raise ValueError("expected 'package.module:function'")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{qualname} is a {type(target).__name__}, not a function")
    return target


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def read_result(result: Any) -> tuple[list[str], dict[str, float]]:
    """A str is output; a dict may hold "output" (str or list) and "usage" (numbers)."""
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


def call(func: Any, args: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(func):
        return asyncio.run(func(**args))
    result = func(**args)
    if inspect.isawaitable(result):  # e.g. an object whose __call__ is async

        async def awaited() -> Any:
            return await result

        return asyncio.run(awaited())
    return result


def main(request_path: str, result_path: str) -> int:
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    sys.path[:0] = [p for p in request["path"] if p not in sys.path]
    os.environ["RUNTUI_IN_TASK"] = "1"

    def answer(value: dict[str, Any]) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        with open(result_path, "w", encoding="utf-8") as f:
            json.dump(value, f)
        return 0

    try:
        func = resolve_function(request["function"])
    except Exception as exc:
        return answer({"init_error": describe(exc)})
    try:
        result = call(func, request["args"])
    except (Exception, SystemExit) as exc:
        sys.stderr.write("".join(traceback.format_exception(exc)))
        return answer({"error": describe(exc)})
    lines, usage = read_result(result)
    return answer({"lines": lines, "usage": usage})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
