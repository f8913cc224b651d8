"""runtui: governed runs, orchestrated from the terminal — and from Python.

    import runtui

    flow = runtui.Flow("hello")
    flow.shell("greet", "echo hello")

    async with runtui.open("runs.db") as rt:      # or: runtui.connect(url, token=...)
        run_id = await rt.submit(flow.build())
        run = await rt.wait(run_id)

The names below are loaded when first used, so `import runtui` stays light: the command line
(`runtui --version`), the store and the actors import this package, and none of them may pay
for (or depend on) the terminal UI or the HTTP server. `runtui.sync` has the same calls,
blocking, for scripts.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "open": "runtui.opening",
    "connect": "runtui.opening",
    "Port": "runtui.api",
    "Flow": "runtui.flow",
    "Workflow": "runtui.domain.workflow",
    "load_workflow": "runtui.workflows",
    "RewindPlan": "runtui.domain.rewind",
    "EventEnvelope": "runtui.domain.events",
    "RunRow": "runtui.domain.views",
    "RunStatus": "runtui.domain.status",
    "RuntuiError": "runtui.domain.errors",
    "NotFoundError": "runtui.domain.errors",
    "InvalidInputError": "runtui.domain.errors",
    "ConflictError": "runtui.domain.errors",
    "UnauthorizedError": "runtui.domain.errors",
    "UnavailableError": "runtui.domain.errors",
    "WorkflowError": "runtui.domain.errors",
}

__all__ = [
    "ConflictError",
    "EventEnvelope",
    "Flow",
    "InvalidInputError",
    "NotFoundError",
    "Port",
    "RewindPlan",
    "RunRow",
    "RunStatus",
    "RuntuiError",
    "UnauthorizedError",
    "UnavailableError",
    "Workflow",
    "WorkflowError",
    "__version__",
    "connect",
    "load_workflow",
    "open",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'runtui' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from runtui.api import Port
    from runtui.domain.errors import (
        ConflictError,
        InvalidInputError,
        NotFoundError,
        RuntuiError,
        UnauthorizedError,
        UnavailableError,
        WorkflowError,
    )
    from runtui.domain.events import EventEnvelope
    from runtui.domain.rewind import RewindPlan
    from runtui.domain.status import RunStatus
    from runtui.domain.views import RunRow
    from runtui.domain.workflow import Workflow
    from runtui.flow import Flow
    from runtui.opening import connect, open
    from runtui.workflows import load_workflow
