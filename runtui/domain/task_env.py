"""Where a task runs and with what environment, fixed once when the run is submitted.

A run may be driven by several processes in turn (the `runtui run` that submitted it, the
`runtui approve` that took it over at a gate, a `serve` restarted after a crash), each with its
own working directory and environment. So that where and with what a task runs never depends on
which process drives it, the run records at submission:

- `base_dir`: the workflow file's directory (absolute), or the working directory of the process
  that accepted a workflow given as text. A task's relative `cwd` is resolved against it, and a
  task without `cwd` runs in it.
- `env`: the variables a task inherits, taken from the submitting process: a small allow-list
  (`PASSED`, plus every `LC_*`) and the names the workflow lists in `pass_env`. Nothing named
  `RUNTUI_*` is ever passed (the API token among them); the task's own `env` and the variables
  that identify its attempt are added on top.

Runs recorded before this rule have neither; they run with the driving process's environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import msgspec

#: Variables every task inherits from the submitting process, when set there.
PASSED: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
)
#: Never passed, whatever a workflow asks: the runtime's own settings and its API token.
NEVER_PREFIX = "RUNTUI_"


class RunEnvironment(msgspec.Struct, frozen=True, kw_only=True):
    base_dir: str
    env: dict[str, str] = msgspec.field(default_factory=dict)


def capture(
    environ: Mapping[str, str], base_dir: str, pass_env: Iterable[str] = ()
) -> RunEnvironment:
    """The environment a run's tasks get, taken from `environ` (the submitting process)."""
    wanted = {*PASSED, *pass_env}
    env = {
        name: value
        for name, value in environ.items()
        if (name in wanted or name.startswith("LC_")) and not name.startswith(NEVER_PREFIX)
    }
    return RunEnvironment(base_dir=os.path.abspath(base_dir), env=env)


def task_cwd(run_env: RunEnvironment | None, cwd: str | None) -> str | None:
    """The directory a task runs in: its `cwd` against the run's base directory."""
    if run_env is None:
        return cwd
    if cwd is None:
        return run_env.base_dir
    return os.path.join(run_env.base_dir, cwd)  # an absolute `cwd` stays as it is
