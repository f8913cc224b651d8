"""Every library the code imports directly is declared in pyproject.toml (a library that only
arrives through another one could disappear with that one's next release)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = {"runtui"}
#: Where its code lives in the checkout (actors/ and store/ install as runtui.actors, runtui.store).
SOURCE_DIRS = ("runtui", "actors", "store")


def _imported_top_levels() -> set[str]:
    found: set[str] = set()
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return found - OURS - set(sys.stdlib_module_names)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_direct_import_is_a_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {
        _normal(re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0]) for d in project["dependencies"]
    }
    distributions = packages_distributions()
    missing = {
        module: distributions.get(module, ["?"])
        for module in _imported_top_levels()
        if not any(_normal(d) in declared for d in distributions.get(module, []))
    }
    assert missing == {}
