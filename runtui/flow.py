"""Workflows defined in Python: `Flow`, a builder that ends in the same validated `Workflow` a
TOML file gives.

    flow = Flow("nightly", timeout_s=600, caps={"shell": 2})
    build = flow.shell("build", "make all")

    @flow.python(needs=[build])
    def report(limit: int = 3) -> str:
        return f"top {limit}: ..."

    flow.gate("publish-gate", prompt="Publish the report?", needs=[report])
    flow.policy("tokens", type="token_limit", severity="high", threshold=10_000)
    workflow = flow.build()

Each task method returns the task's id, and `needs` takes ids or the functions given to
`python`, so a graph reads as it runs. A python task runs its function in a child process
(as every python task does), which imports it by name: the function must be defined at a
module's top level. A function of the script being run (`python myscript.py`) is imported as
the module `myscript` from the script's directory, which executes the script's top level again
in the child; keep a script's work under `if __name__ == "__main__":` (as multiprocessing also
asks), or runtui refuses to start a runtime there (`runtui.open` raises in a task's process).
Problems are `InvalidInputError`s naming the flow, the task and the field, all at once, as for a
TOML file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar, overload

import msgspec

from runtui.domain.errors import InvalidInputError
from runtui.domain.workflow import Workflow
from runtui.domain.workflow_source import MAX_SOURCE_BYTES, SourceFormat, WorkflowSource, kept

F = TypeVar("F", bound=Callable[..., Any])

#: A task a `needs` list names: its id, or the function of a python task.
Need = str | Callable[..., Any]


def function_ref(fn: Callable[..., Any]) -> str:
    """`package.module:function`, the name a child process imports `fn` by."""
    qualname = getattr(fn, "__qualname__", None)
    module = getattr(fn, "__module__", None)
    if not qualname or not module:
        raise InvalidInputError(f"function: {fn!r} has no importable name")
    if "<" in qualname:  # <lambda>, <locals>
        raise InvalidInputError(
            f"function: {qualname} is not defined at a module's top level, so a task's process"
            " cannot import it; define it at the top level of a module"
        )
    if module == "__main__":
        module = _main_module_name()
    return f"{module}:{qualname}"


def _main_module_name() -> str:
    """The importable name of the program being run: `pkg.mod` for `python -m pkg.mod`, the
    file's stem for `python script.py` (its directory is first on the module path)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        return str(spec.name).removesuffix(".__main__")
    path = getattr(main, "__file__", None)
    if path is None or not Path(path).stem.isidentifier():
        raise InvalidInputError(
            "function: defined in an interactive session or a file whose name is not a module"
            " name, so a task's process cannot import it; put it in a module"
        )
    return Path(path).stem


class Flow:
    """A workflow under construction; `build()` validates it."""

    def __init__(
        self,
        name: str,
        *,
        description: str = "",
        timeout_s: float | None = None,
        hitl: str = "none",
        max_concurrency: int | None = None,
        caps: Mapping[str, int] | None = None,
        strict: bool = False,
    ) -> None:
        self.name = name
        self._top: dict[str, Any] = {"name": name, "description": description, "hitl": hitl}
        if timeout_s is not None:
            self._top["timeout_s"] = timeout_s
        if max_concurrency is not None:
            self._top["max_concurrency"] = max_concurrency
        if caps:
            self._top["caps"] = dict(caps)
        self._top["governance"] = {"strict": strict}
        self._tasks: list[dict[str, Any]] = []
        self._policies: list[dict[str, Any]] = []
        self._by_function: dict[Callable[..., Any], str] = {}
        # the module whose code made this flow: its text is kept with the runs it starts
        caller = sys._getframe(1).f_globals
        self._module = (str(caller.get("__name__") or ""), caller.get("__file__"))

    # --- tasks ----------------------------------------------------------------------------------

    def _add(self, kind: str, task_id: str, needs: Iterable[Need], fields: dict[str, Any]) -> str:
        task = {"id": task_id, "kind": kind, "needs": [self._need(n) for n in needs]}
        task.update({k: v for k, v in fields.items() if v is not None})
        self._tasks.append(task)
        return task_id

    def _need(self, need: Need) -> str:
        if isinstance(need, str):
            return need
        task_id = self._by_function.get(need)
        if task_id is None:
            raise InvalidInputError(
                f"{self.name}: needs: {getattr(need, '__qualname__', need)!r} is not a task of"
                " this flow (give its id, or add it with flow.python first)"
            )
        return task_id

    def shell(
        self,
        task_id: str,
        cmd: str,
        *,
        needs: Iterable[Need] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        **common: Any,
    ) -> str:
        """A shell task: `cmd` runs with `/bin/sh -c`."""
        return self._add(
            "shell", task_id, needs, {"cmd": cmd, "env": dict(env or {}), "cwd": cwd, **common}
        )

    @overload
    def python(self, task: F, /) -> F: ...
    @overload
    def python(
        self,
        task: str | None = None,
        function: Callable[..., Any] | None = None,
        /,
        *,
        needs: Iterable[Need] = (),
        args: Mapping[str, Any] | None = None,
        **common: Any,
    ) -> Callable[[F], F]: ...
    def python(
        self,
        task: str | Callable[..., Any] | None = None,
        function: Callable[..., Any] | None = None,
        /,
        *,
        needs: Iterable[Need] = (),
        args: Mapping[str, Any] | None = None,
        **common: Any,
    ) -> Any:
        """A python task, three ways: `flow.python("id", fn, args=...)` adds `fn` and returns
        the id; `@flow.python` and `@flow.python("id", needs=[...])` add the decorated
        function (its name is the id unless given) and return it unchanged."""
        if callable(task):  # @flow.python
            self._python(task.__name__, task, needs, args, common)
            return task
        if function is not None:
            return self._python(task or function.__name__, function, needs, args, common)

        def register(fn: F) -> F:
            self._python(task or fn.__name__, fn, needs, args, common)
            return fn

        return register

    def _python(
        self,
        task_id: str,
        fn: Callable[..., Any],
        needs: Iterable[Need],
        args: Mapping[str, Any] | None,
        common: dict[str, Any],
    ) -> str:
        fields = {"function": function_ref(fn), "args": dict(args or {}), **common}
        self._by_function[fn] = task_id
        return self._add("python", task_id, needs, fields)

    def external(
        self,
        task_id: str,
        *,
        submit: str,
        poll: str,
        poll_interval_s: float | None = None,
        needs: Iterable[Need] = (),
        **common: Any,
    ) -> str:
        """A job that runs elsewhere: `submit` prints its id, `poll` reports its state."""
        fields = {"submit": submit, "poll": poll, "poll_interval_s": poll_interval_s, **common}
        return self._add("external", task_id, needs, fields)

    def gate(
        self,
        task_id: str,
        *,
        prompt: str = "",
        approval_timeout_s: float | None = None,
        default: str | None = None,
        needs: Iterable[Need] = (),
        **common: Any,
    ) -> str:
        """A human approval: the tasks that need it wait until someone approves."""
        fields = {
            "prompt": prompt,
            "approval_timeout_s": approval_timeout_s,
            "default": default,
            **common,
        }
        return self._add("gate", task_id, needs, fields)

    def noop(self, task_id: str, *, needs: Iterable[Need] = (), **common: Any) -> str:
        return self._add("noop", task_id, needs, common)

    def sleep(
        self, task_id: str, seconds: float, *, needs: Iterable[Need] = (), **common: Any
    ) -> str:
        return self._add("sleep", task_id, needs, {"seconds": seconds, **common})

    # --- policies -------------------------------------------------------------------------------

    def policy(
        self,
        policy_id: str,
        *,
        type: str,
        severity: str,
        function: Callable[..., Any] | str | None = None,
        **fields: Any,
    ) -> str:
        """A governance rule (`type`: token_limit, cost_limit, rate_limit, content_filter,
        pii_detection, command_blocklist, custom; see README's policy table)."""
        policy: dict[str, Any] = {"id": policy_id, "type": type, "severity": severity}
        if function is not None:
            policy["function"] = function if isinstance(function, str) else function_ref(function)
        policy.update({k: v for k, v in fields.items() if v is not None})
        self._policies.append(policy)
        return policy_id

    # --- the result -----------------------------------------------------------------------------

    def data(self) -> dict[str, Any]:
        """The workflow as the tables a TOML file would hold."""
        return {**self._top, "tasks": list(self._tasks), "policies": list(self._policies)}

    def build(self) -> Workflow:
        """The validated workflow, with the source of the module that made this flow (its
        runs show it), when that module is a Python file that can be read."""
        from runtui.workflows import workflow_from_data

        workflow = workflow_from_data(self.data(), source=f"flow {self.name!r}")
        return workflow.with_source(self._module_source())

    def _module_source(self) -> WorkflowSource | None:
        name, file = self._module
        if not isinstance(file, str) or not file.endswith(".py"):
            return None  # an interactive session, a notebook, compiled code
        try:
            with open(file, "rb") as f:
                data = f.read(MAX_SOURCE_BYTES + 4)
                size = os.fstat(f.fileno()).st_size
        except OSError:
            return None
        # past the cap, `kept` cuts what was read (a character split at its end falls there)
        source = kept(SourceFormat.PYTHON, data.decode("utf-8", "replace"), _origin(name, file))
        return msgspec.structs.replace(source, size=size) if source.truncated else source


def _origin(module: str, file: str) -> str:
    """`pkg.mod (path/to/mod.py)`, or the path alone for a script run as `__main__`."""
    return file if module in ("", "__main__") else f"{module} ({file})"


__all__ = ["Flow", "function_ref"]
