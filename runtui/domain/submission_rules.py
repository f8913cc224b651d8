"""What a server accepts in workflows submitted over its API.

A workflow is code: its shell tasks run commands, its python tasks and custom rules import and
call modules, its external tasks run submit and poll commands, all as the user `runtui serve`
runs as. Whoever holds the API token can therefore run anything that user can. An operator who
wants less lists what is allowed (`RUNTUI_API_TASK_KINDS`, `RUNTUI_API_PYTHON_MODULES`); a
workflow that asks for more is refused as a whole (HTTP 422) naming the task or policy and the
field. Workflows the server's own user runs locally (`runtui run`, the embedded UI) are not
restricted: they are that user's own.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from runtui.domain.errors import WorkflowError
from runtui.domain.tasks import TaskKind
from runtui.domain.violations import PolicyViolationType
from runtui.domain.workflow import PythonTask, Workflow


class SubmissionRules(msgspec.Struct, frozen=True, kw_only=True):
    """None: anything goes."""

    task_kinds: tuple[str, ...] | None = None
    python_modules: tuple[str, ...] | None = None  # a module, or a package and all below it


def module_allowed(ref: str, allowed: Iterable[str]) -> bool:
    module = ref.partition(":")[0]
    return any(module == a or module.startswith(a + ".") for a in allowed)


def refusals(workflow: Workflow, rules: SubmissionRules) -> list[tuple[str, str]]:
    """(field path, what is not allowed) for everything in `workflow` that `rules` forbid."""
    found: list[tuple[str, str]] = []
    kinds, modules = rules.task_kinds, rules.python_modules
    for i, task in enumerate(workflow.tasks):
        where = f"tasks[{i}] (id={task.id})"
        kind = TaskKind(task.kind)
        if kinds is not None and kind.value not in kinds:
            allowed = ", ".join(kinds) or "none"
            found.append(
                (
                    f"{where}.kind",
                    f"{kind.value} tasks are not allowed on this server (allowed: {allowed})",
                )
            )
        elif (
            isinstance(task, PythonTask)
            and modules is not None
            and not module_allowed(task.function, modules)
        ):
            found.append((f"{where}.function", _module_refusal(task.function, modules)))
    for i, policy in enumerate(workflow.policies):
        if policy.type is PolicyViolationType.CUSTOM_RULE and policy.function is not None:
            ref = policy.function
            if modules is not None and not module_allowed(ref, modules):
                found.append(
                    (f"policies[{i}] (id={policy.id}).function", _module_refusal(ref, modules))
                )
    return found


def _module_refusal(ref: str, modules: tuple[str, ...]) -> str:
    allowed = ", ".join(modules) or "none"
    return f"module {ref.partition(':')[0]} is not allowed on this server (allowed: {allowed})"


def check_submission(workflow: Workflow, rules: SubmissionRules, *, source: str) -> None:
    """Raise `WorkflowError` (every refusal, one per line) unless `rules` allow `workflow`."""
    found = refusals(workflow, rules)
    if found:
        field, _ = found[0]
        raise WorkflowError(
            "\n".join(f"{source}: {f}: {what}" for f, what in found), source=source, field=field
        )
