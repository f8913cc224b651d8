"""The task screen's words: its title line, what the task runs, and a row per attempt.

    task compile  shell  wave 1  ✗ failed  2 attempts  ▲ 1 violation      run 7f3a…51 failing
    cmd: make -C src all
    cwd: /srv/build   env: CC, CFLAGS   inherited: PATH, HOME
    #  status     exit  started   took  ended by     usage

Plain functions (no widgets), so the wording is testable without a screen. Every string from
the workflow (ids, commands, paths, variable names) goes through `one_line`; the values of
environment variables and a python task's arguments are never read, only their names (they may
be secrets).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from runtui.domain.attempt_end import ended_by
from runtui.domain.task_env import RunEnvironment
from runtui.domain.termination import RunTerminationReason
from runtui.domain.views import AttemptRow, RunRow, TaskRow
from runtui.tui.glyphs import TASK_GLYPH, clock_time, duration, short_id
from runtui.tui.safe_text import one_line
from runtui.tui.widgets.run_header import DISCONNECTED

ATTEMPT_GLYPH: dict[str, tuple[str, str]] = {
    "created": ("·", "dim"),
    "submitted": ("·", "dim"),
    "running": ("●", "cyan"),
    "waiting_external": ("◌", "cyan"),
    "completed": ("✓", "green"),
    "failed": ("✗", "red"),
    "failed_init": ("✗", "red"),
    "cancelled": ("⊘", "dim"),
}

#: "ended by" before "usage": on a narrow screen it is the one to keep in view.
ATTEMPT_COLUMNS = ("#", "status", "exit", "started", "took", "ended by", "usage")


def title_text(
    task: TaskRow, run: RunRow | None, *, violations: int, connected: bool = True
) -> Text:
    glyph, style = TASK_GLYPH.get(task.status, ("?", ""))
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    if not connected:
        text.append(DISCONNECTED, style="bold red")
    text.append("task ", style="bold")
    text.append(one_line(task.task_id), style="bold")
    name = task.spec.get("name")
    if isinstance(name, str) and name and name != task.task_id:
        text.append(f" ({one_line(name)})")
    text.append(f"  {one_line(task.kind)}  wave {task.wave}")
    text.append(f"  {glyph} {one_line(task.status)}", style=style)
    if task.status == "failed" and task.allow_failure:
        text.append(" (allowed to fail)", style="dim")
    text.append(f"  {task.attempts} attempt{'s' if task.attempts != 1 else ''}")
    if violations:
        plural = "s" if violations != 1 else ""
        text.append(f"  ▲ {violations} violation{plural}", style="bold red")
    if run is not None:
        text.append(f"    run {short_id(run.run_id)} {one_line(run.workflow)}", style="dim")
    return text


def _names(values: object) -> list[str]:
    return [one_line(str(k)) for k in values] if isinstance(values, dict) else []


def _field(text: Text, label: str, value: str, style: str = "") -> None:
    if text.plain:
        text.append("   ")
    text.append(f"{label}: ", style="dim")
    text.append(value, style=style)


def spec_lines(task: TaskRow, run_env: RunEnvironment | None) -> list[Text]:
    """What the task runs (a line), then where and with what (a line)."""
    spec: dict[str, Any] = task.spec
    what = Text(no_wrap=True, overflow="ellipsis", end="")
    where = Text(no_wrap=True, overflow="ellipsis", end="")
    kind = task.kind
    if kind == "shell":
        _field(what, "cmd", one_line(str(spec.get("cmd", ""))), "bold")
    elif kind == "python":
        _field(what, "function", one_line(str(spec.get("function", ""))), "bold")
        _field(what, "args", ", ".join(_names(spec.get("args"))) or "—")
    elif kind == "external":
        _field(what, "submit", one_line(str(spec.get("submit", ""))), "bold")
        _field(what, "poll", one_line(str(spec.get("poll", ""))), "bold")
    elif kind == "gate":
        _field(what, "asks", one_line(str(spec.get("prompt", ""))) or "—", "bold")
    elif kind == "sleep":
        _field(what, "sleeps", duration(_number(spec.get("seconds"))))
    elif kind == "noop":
        what.append("does nothing (a join point)", style="dim")
    else:
        what.append(f"{one_line(kind)} task", style="dim")
    if kind in ("shell", "external"):
        base = one_line(run_env.base_dir) if run_env is not None else None
        cwd = spec.get("cwd")
        if isinstance(cwd, str) and cwd:
            shown = one_line(cwd) + (f" (in {base})" if base and not cwd.startswith("/") else "")
        else:
            shown = base or "the driving process's directory"
        _field(where, "cwd", shown)
        _field(where, "env", ", ".join(_names(spec.get("env"))) or "—")
        if run_env is not None and run_env.env:
            _field(where, "inherited", ", ".join(sorted(_names(run_env.env))))
    extras = []
    timeout = _number(spec.get("timeout_s"))
    if timeout is not None:
        extras.append(f"timeout {duration(timeout)}")
    if task.retries:
        extras.append(f"retries {task.retries}")
    if task.needs:
        extras.append("needs " + ", ".join(one_line(n) for n in task.needs))
    if extras:
        _field(where, "also", " · ".join(extras))
    return [what, where] if where.plain else [what]


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def usage_text(usage: dict[str, float]) -> str:
    if not usage:
        return "—"
    return " · ".join(f"{one_line(k)} {v:,.10g}" for k, v in sorted(usage.items()))


def attempt_cells(
    a: AttemptRow, *, now: float, run_reason: RunTerminationReason | None
) -> list[Text]:
    """One attempt as the attempts table shows it (`ATTEMPT_COLUMNS`)."""
    glyph, style = ATTEMPT_GLYPH.get(a.status, ("?", ""))
    took = (
        duration(a.ended_at - a.started_at)
        if a.ended_at is not None
        else duration(max(0.0, now - a.started_at)) + "…"
    )
    end = ended_by(a, run_reason)
    return [
        Text(str(a.attempt)),
        Text(f"{glyph} {one_line(a.status)}", style=style),
        Text("—" if a.exit_code is None else str(a.exit_code)),
        Text(clock_time(a.started_at)),
        Text(took),
        Text(end, style="red" if end not in ("—", "exit code 0") else ""),
        Text(usage_text(a.usage)),
    ]


def error_line(a: AttemptRow) -> Text | None:
    """The attempt's error as its operator gave it, when it says more than `ended by`."""
    if not a.error or a.error == f"exit code {a.exit_code}":
        return None
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(f"attempt {a.attempt}: ", style="dim")
    text.append(one_line(a.error), style="red")
    return text
