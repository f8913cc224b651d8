"""Command palette (ctrl+p): the app-wide actions, plus every key binding of the current screen.

Screen commands are read from the screen's own `BINDINGS` (and its `check_action`), so the
palette offers exactly what the keys do and cannot drift from them; read-only mode hides the
mutating ones the same way the footer does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from runtui.tui.app import RuntuiApp

Command = tuple[str, str, Callable[[], Any]]


class RuntuiCommands(Provider):
    @property
    def rt_app(self) -> RuntuiApp:
        from runtui.tui.app import RuntuiApp

        return cast(RuntuiApp, self.app)

    def commands(self) -> list[Command]:
        app = self.rt_app
        found: list[Command] = [
            ("Open approvals inbox", "every pending approval across runs (i)", app.action_inbox),
        ]
        if not app.read_only:
            found.append(("New run", "start a run from a workflow file", self._new_run))
        found += [
            ("Help", "every key of the current screen (?)", app.action_help),
            ("Toggle dark/light theme", "switch between the dark and light theme", self._theme),
        ]
        # "Quit" comes from Textual's own SystemCommandsProvider (kept in App.COMMANDS, with
        # "Theme", "Keys" and "Screenshot"); offering it twice would list it twice.
        names = {name for name, _, _ in found} | {"Quit", "Theme", "Keys"}
        screen = self.screen
        where = type(screen).__name__.removesuffix("Screen").lower() or "screen"
        for binding in type(screen).BINDINGS:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            action = binding.action
            name, _, _ = action.partition("(")
            if binding.description in names or screen.check_action(name, ()) is False:
                continue
            names.add(binding.description)
            key = binding.key_display or binding.key
            found.append(
                (
                    binding.description,
                    f"{where}: key {key}",
                    partial(screen.run_action, action),
                )
            )
        return found

    def _new_run(self) -> None:
        from runtui.tui.screens.runs import RunsScreen

        for screen in self.app.screen_stack:
            if isinstance(screen, RunsScreen):
                screen.action_new_run()
                return

    def _theme(self) -> None:
        app = self.app
        app.theme = "textual-light" if app.current_theme.dark else "textual-dark"

    async def discover(self) -> Hits:
        for name, help_text, callback in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
