"""Where the demo workflow is: the checkout's examples/, or the copy shipped in the wheel."""

from __future__ import annotations

from pathlib import Path


def demo_workflow_path() -> Path | None:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "examples" / "demo.toml", here / "examples" / "demo.toml"):
        if candidate.is_file():
            return candidate
    return None
