"""The text a run was started from, kept with its creation (`RunCreated.source`).

A run's validated workflow is stored as data; a reader also wants what was written: the TOML
file as its author wrote it (comments, order), or the Python module whose `runtui.Flow` built
it. That text is recorded when the run is created, cut at `MAX_SOURCE_BYTES` (saying so). A
run started without it (before runs kept their source, or from a program whose module could
not be read) shows its stored workflow rendered as TOML, marked as rendered, not the original.

Forks (rewind, retry) keep their parent's source: they run the same workflow.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

#: What is kept of a source (UTF-8 bytes); the rest is cut, and the source says it was.
MAX_SOURCE_BYTES = 256 * 1024


class SourceFormat(StrEnum):
    TOML = "toml"  # the workflow file's text, as submitted
    PYTHON = "python"  # the module that defined the workflow with `runtui.Flow`
    RENDERED = "rendered"  # TOML written from the stored workflow: not the original text


class WorkflowSource(msgspec.Struct, frozen=True):
    """A run's workflow source. `size` is the original text's length in UTF-8 bytes, so a cut
    source (`truncated`) says how much there was."""

    format: SourceFormat
    text: str
    origin: str = ""  # where it was read from: a file path, a module, "request body"
    size: int = 0
    truncated: bool = False

    @property
    def original(self) -> bool:
        """The text as written (not rendered from the stored workflow)."""
        return self.format is not SourceFormat.RENDERED


def kept(format: SourceFormat, text: str, origin: str = "") -> WorkflowSource:
    """`text` as a run keeps it: its first `MAX_SOURCE_BYTES` (cut between characters)."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_SOURCE_BYTES:
        return WorkflowSource(format, text, origin, len(data))
    cut = data[:MAX_SOURCE_BYTES].decode("utf-8", "ignore")  # a split character is dropped
    return WorkflowSource(format, cut, origin, len(data), truncated=True)


def rendered(spec: dict[str, Any], origin: str = "") -> WorkflowSource:
    """The stored workflow (`RunCreated.workflow_spec`) written as TOML: only what differs
    from the defaults, so it reads like a file; the stored data as it is where it no longer
    validates (an older runtui's)."""
    from runtui.domain.toml_render import render

    return kept(SourceFormat.RENDERED, render(_compact(spec)) if spec else "", origin)


def _compact(spec: dict[str, Any]) -> dict[str, Any]:
    from pydantic import ValidationError

    from runtui.domain.workflow import Workflow

    try:
        workflow = Workflow.model_validate(spec)
    except ValidationError:
        return spec
    data = workflow.model_dump(mode="json", exclude_defaults=True)
    # a task's kind picks its model: written even where it is its model's default
    data["tasks"] = [
        {"id": task.id, "kind": task.kind.value, **{k: v for k, v in t.items() if k != "id"}}
        for task, t in zip(workflow.tasks, data["tasks"], strict=True)
    ]
    return data


__all__ = ["MAX_SOURCE_BYTES", "SourceFormat", "WorkflowSource", "kept", "rendered"]
