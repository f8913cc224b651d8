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
        "import store, store.writer, store.queries, store.replay, store.history",
        "import actors, actors.runtime",
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
