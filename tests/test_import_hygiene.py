"""The core must not load the UI: checked in a fresh interpreter, where sys.modules is honest."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = """
import sys
{imports}
heavy = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')
print(','.join(heavy) or 'clean')
"""


@pytest.mark.parametrize(
    "imports",
    [
        "import runtui",
        "import runtui.domain.events, runtui.domain.phases, runtui.config",
        "import runtui.store.writer, runtui.store.queries, runtui.store.replay",
        "import runtui.store.history, runtui.api, runtui.flow, runtui.opening, runtui.sync",
        "import runtui.actors.runtime, runtui.embedded",
        "import runtui.server.app, runtui.server.serve",
        "import runtui.client",
        "import runtui.cli",
    ],
)
def test_core_imports_do_not_load_textual(imports: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(imports=imports)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "clean"


def test_version_does_not_import_textual() -> None:
    probe = (
        "import sys, runtui.cli as cli\n"
        "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED' if 'textual' in sys.modules else 'clean')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.splitlines() == ["runtui, version 0.1.0", "clean"]


def test_version_loads_no_command_and_no_pydantic() -> None:
    """`runtui --version` (and the group itself) stays cheap: commands load when asked for."""
    probe = (
        "import sys, runtui.cli as cli\n"
        "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m.endswith(('_commands', '_command'))"
        " or m.split('.')[0] == 'pydantic')\n"
        "print(','.join(loaded) or 'nothing')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.splitlines()[-1] == "nothing"


def test_every_command_is_found_by_its_name() -> None:
    """Each command a module registers is in the name map the group loads from (a command
    left out would be missing from `runtui NAME` until something else loaded its module)."""
    probe = (
        "import click, runtui.cli as cli\n"
        "names = cli.main.list_commands(click.Context(cli.main))\n"
        "print(sorted(set(names) - set(cli._COMMAND_MODULES) - {'tui', 'attach'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
