"""`--db`, `--config` and `--server` after the command name too.

`runtui runs ls --server URL` reads as naturally as `runtui --server URL runs ls`, and the
server issue asks for the former; click only knows options where they are declared, so every
subcommand (nested ones included) gets its own copies. A value given after the command wins
over one given before it. `serve` takes no `--server` (it is the server), `attach` takes its
URL as an argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


#: name → (help, click type); the values land on the `Context` the group made.
class DatabaseParam(click.ParamType):  # type: ignore[type-arg]
    """`--db`: a SQLite file's path, or a PostgreSQL URL (kept as given)."""

    name = "FILE|URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.startswith(("postgresql://", "postgres://")):
            return value
        return click.Path(dir_okay=False, path_type=Path).convert(value, param, ctx)


DATABASE = DatabaseParam()

_OPTIONS: dict[str, tuple[str, Any]] = {
    "db": ("SQLite database file or PostgreSQL URL (as `runtui --db`).", DATABASE),
    "config": (
        "TOML config file (as `runtui --config`).",
        click.Path(dir_okay=False, path_type=Path),
    ),
    "server": ("Go through this server's HTTP API (as `runtui --server`).", None),
}
_NO_SERVER = {"serve", "attach"}


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is None or param.name is None:
        return
    from runtui.cli import Context

    target = ctx.find_object(Context)
    assert target is not None, "the runtui group makes the Context before any subcommand parses"
    target.override(param.name, value)


def spread(group: click.Group) -> None:
    """Give every subcommand of `group` (recursively) the global options it does not have."""
    for name, command in group.commands.items():
        taken = {p.name for p in command.params}
        for option, (help_text, kind) in _OPTIONS.items():
            if option in taken or (option == "server" and name in _NO_SERVER):
                continue
            command.params.append(
                click.Option(
                    [f"--{option}"],
                    type=kind,
                    metavar="URL" if option == "server" else None,
                    help=help_text,
                    expose_value=False,
                    callback=_store,
                )
            )
        if isinstance(command, click.Group):
            spread(command)
